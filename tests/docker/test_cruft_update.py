"""A project that cruft updated to a new release of the template passes its own make test.

The project of the fast layer's tests/test_cruft.py: created from v1.0.0 of a fixture repository
of this template, changed by its team (a field and its migration), updated to v1.1.0 (which adds a
test to the app); here it runs on a real engine.
"""

import uuid

from tests.support import (
    DB_IMAGES,
    DEFAULT_ANSWERS,
    PYTHON_IMAGES,
    Checkout,
    compose_command,
    cruft_create,
    cruft_update,
    explain,
    team_change,
    template_repository,
    unique_build_id,
)


def test_the_updated_project_passes_make_test(new_project, provide_image, tmp_path):
    slug = f"todo{uuid.uuid4().hex[:8]}"
    template = template_repository(tmp_path / "template")
    project, _ = cruft_create(template, tmp_path / "projects", project_slug=slug)
    team_change(project)
    cruft_update(project)
    provide_image(PYTHON_IMAGES[DEFAULT_ANSWERS["python_version"][0]])
    provide_image(DB_IMAGES[DEFAULT_ANSWERS["database"][0]])
    settings = {"COMPOSE": compose_command("v2"), "BUILD_ID": unique_build_id()}
    checkout = Checkout(project, slug, settings)
    new_project.handed_out.append(checkout)  # make-cleaned at the end, as every baked project

    tested = checkout.make("test")
    assert tested.returncode == 0, explain(tested)
    totals, failed = checkout.report()
    assert failed == [] and totals["tests"] > 0, totals
    # The release's new test ran, beside the team's field and migration.
    assert "test_added_by_release_1_1_0" in (project / "reports" / "unittests.xml").read_text()
