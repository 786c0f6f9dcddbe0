"""What the release half claims, checked on a real engine: the release image records the commit it
was built from, make tag names that commit only and moves latest only forward, make publish
refuses when there is no registry, make clean-all removes only what the project's makes created,
make lint needs no database image, and the reports name files from the project root."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import yaml

from tests import support
from tests.support import docker, explain, image_id


def git(checkout, *arguments):
    return support.git(checkout.path, *arguments).stdout.strip()


@pytest.fixture(scope="module")
def released(new_module_project):
    """A fresh bake with GitLab CI, in git (on git's default branch), after its make test and make
    release."""
    checkout = new_module_project(ci="gitlab")
    git(checkout, "init", "-q")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "Baked")
    tested = checkout.make("test")
    assert tested.returncode == 0, explain(tested)
    built = checkout.make("release")
    assert built.returncode == 0, explain(built)
    return checkout, tested


def label(image, name):
    template = f'{{{{ index .Config.Labels "org.opencontainers.image.{name}" }}}}'
    return docker("image", "inspect", "--format", template, image).stdout.strip()


def tagged(checkout, *arguments):
    """make tag's tags, each checked to name the release image; then removed again."""
    release = f"{checkout.slug}:{checkout.build_id}"
    completed = checkout.make("tag", *arguments)
    assert completed.returncode == 0, explain(completed)
    tags = (checkout.path / ".make" / f"{checkout.compose_project}-release.tags").read_text()
    names = tags.split()
    for name in names:
        assert image_id(name) == image_id(release), name
        docker("image", "rm", name)
    return {name.rpartition(":")[2] for name in names}


def test_the_release_image_records_the_commit_it_was_built_from(released):
    checkout = released[0]
    image = f"{checkout.slug}:{checkout.build_id}"

    assert label(image, "revision") == git(checkout, "rev-parse", "HEAD")
    assert label(image, "version") == git(checkout, "describe", "--tags", "--always", "--dirty")
    created = datetime.fromisoformat(label(image, "created"))
    assert abs((datetime.now(UTC) - created).total_seconds()) < 3600


def test_latest_moves_only_to_the_default_branch_or_the_highest_version(released):
    checkout = released[0]
    built = git(checkout, "rev-parse", "HEAD")
    sha = git(checkout, "rev-parse", "--short", "HEAD")
    branch = git(checkout, "branch", "--show-current")
    try:
        # On the default branch's newest commit.
        assert tagged(checkout) == {sha, "latest"}
        # A hotfix tag on it, older than a release made since on another branch.
        git(checkout, "tag", "v1.0.1")
        git(checkout, "checkout", "-q", "-b", "next")
        git(checkout, "commit", "-q", "--allow-empty", "-m", "Next")
        git(checkout, "tag", "v1.1.0")
        git(checkout, "checkout", "-q", "--detach", built)
        assert tagged(checkout) == {sha, "v1.0.1"}
        assert image_id(f"{checkout.slug}:latest") is None
        # Once it is the highest version, latest moves to it.
        git(checkout, "tag", "--delete", "v1.1.0")
        assert tagged(checkout) == {sha, "v1.0.1", "latest"}
    finally:
        git(checkout, "checkout", "-q", branch)
        git(checkout, "tag", "--delete", "v1.0.1")


def test_make_tag_never_names_the_image_after_another_commit(released):
    checkout = released[0]
    built = git(checkout, "rev-parse", "--short", "HEAD")
    git(checkout, "commit", "-q", "--allow-empty", "-m", "After the release")
    moved = git(checkout, "rev-parse", "--short", "HEAD")
    try:
        refused = checkout.make("tag")
        assert refused.returncode == 2 and "make release again" in refused.stderr, explain(refused)
        named = checkout.make("tag", f"TAGS={moved}")
        assert named.returncode == 2 and f"{moved} looks like a commit" in named.stderr
        assert image_id(f"{checkout.slug}:{moved}") is None
        # Tags that name no commit are the caller's to choose; the image's own sha still works.
        assert tagged(checkout, f"TAGS=candidate {built}") == {"candidate", built}
    finally:
        git(checkout, "reset", "-q", "--hard", "HEAD~1")


def test_make_publish_without_a_registry_is_refused_before_any_push(released):
    checkout = released[0]
    assert tagged(checkout)  # make tag without REGISTRY: names with no registry host

    refused = checkout.make("publish")

    assert refused.returncode == 2
    assert 'REGISTRY="" and IMAGE=' in refused.stderr and "no registry" in refused.stderr
    assert "Pushing" not in refused.stdout + refused.stderr
    assert "docker.io" not in refused.stdout + refused.stderr


def test_clean_all_leaves_a_container_and_a_copy_made_by_hand(released, tmp_path):
    checkout = released[0]
    release = f"{checkout.slug}:{checkout.build_id}"
    copy = f"{checkout.slug}-copy:mine"
    docker("tag", release, copy)
    mine = f"{checkout.compose_project}-mine"
    docker("create", "--name", mine, copy)
    try:
        cleaned = checkout.make("clean-all")

        assert cleaned.returncode == 0, explain(cleaned)
        assert docker("ps", "--all", "--quiet", "--filter", f"name=^{mine}$").stdout.strip()
        assert image_id(copy) is not None and image_id(release) is None
        assert re.search(rf"kept: images {re.escape(copy)}; containers {mine}", cleaned.stdout)
    finally:
        docker("rm", "--force", mine)
        docker("image", "rm", copy)
    # The closing line is true once they are gone.
    again = checkout.make("clean-all")
    assert f"Nothing of {checkout.slug} is left" in again.stdout, explain(again)


def test_make_lint_needs_no_database_image(new_project):
    checkout = new_project()
    linted = checkout.make("lint", "DB_IMAGE=registry.invalid/no/such-database:1")
    assert linted.returncode == 0, explain(linted)


def test_the_reports_name_files_from_the_project_root(released):
    checkout, tested = released
    coverage = ET.parse(checkout.path / "reports/coverage.xml").getroot()
    files = [element.get("filename") for element in coverage.iter("class")]
    assert files and all((checkout.path / name).is_file() for name in files), files
    # GitLab reads the total of make test's coverage table with the pipeline's coverage regex.
    pipeline = yaml.safe_load((checkout.path / ".gitlab-ci.yml").read_text())
    regex = pipeline["lint-test-release"]["coverage"].strip("/")
    totals = [m.group(1) for line in tested.stdout.splitlines() if (m := re.search(regex, line))]
    covered, valid = (
        sum(int(coverage.get(f"{kind}-{count}")) for kind in ("lines", "branches"))
        for count in ("covered", "valid")
    )
    assert totals == [f"{round(100 * covered / valid)}"], totals
