"""Projects keep up with the template through cruft, as the generated README tells them to.

A fixture repository holds two releases of this template (tests.support.template_repository); a
project is created from v1.0.0, changed by its team, then updated to v1.1.0. Rendering is
deterministic and the post-generation hook quiet in cruft's throwaway renders, which is what
lets cruft compute an update at all.
"""

import json
from pathlib import Path

import pytest

from tests.support import (
    TEAM_README_LINE,
    TEMPLATE_UPDATE_LINE,
    TEMPLATE_UPDATE_TEST,
    baked,
    commit_all,
    cruft_create,
    cruft_update,
    git,
    run,
    team_change,
    template_repository,
    tool,
)

NEXT_STEP = "Next: cd "


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return template_repository(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def updated(template, tmp_path_factory):
    """A project created from v1.0.0 and changed by its team, then updated to v1.1.0."""
    project, created = cruft_create(template, tmp_path_factory.mktemp("updated"))
    team_change(project)
    checked_before = run([tool("cruft"), "check"], project, check=False)
    return {
        "project": project,
        "created": created,
        "checked_before": checked_before,
        "update": cruft_update(project),
    }


def unmerged(project):
    return git(project, "diff", "--name-only", "--diff-filter=U").stdout.split()


def test_an_update_brings_the_release_and_keeps_the_teams_work(updated):
    project = updated["project"]
    readme = (project / "README.md").read_text()
    assert TEMPLATE_UPDATE_LINE in readme and TEAM_README_LINE in readme
    app = project / "src" / "todo"
    assert (app / "tests" / "test_release_1_1_0.py").read_text() == TEMPLATE_UPDATE_TEST
    assert "due_on" in (app / "models.py").read_text()
    assert (app / "migrations" / "0002_todo_due_on.py").is_file()
    assert list(project.rglob("*.rej")) == [] and unmerged(project) == []
    assert json.loads((project / ".cruft.json").read_text())["checkout"] == "v1.1.0"


def test_cruft_check_fails_behind_the_template_and_passes_once_updated(updated):
    assert updated["checked_before"].returncode == 1, updated["checked_before"].stdout
    run([tool("cruft"), "check"], updated["project"])


def test_the_next_step_is_printed_by_cruft_create_and_not_during_an_update(updated):
    assert updated["created"].stdout.count(NEXT_STEP) == 1, updated["created"].stdout
    update = updated["update"]
    assert NEXT_STEP not in update.stdout + update.stderr, update.stdout


def test_a_line_changed_on_both_sides_is_left_as_a_git_conflict(template, tmp_path):
    project, _ = cruft_create(template, tmp_path)
    with (project / "README.md").open("a") as readme:
        readme.write("\nThe team's own last line.\n")
    commit_all(project, "The team's last line")

    update = cruft_update(project)
    # cruft exits 0 all the same; git apply -3 leaves the file unmerged, with both lines.
    assert unmerged(project) == ["README.md"], update.stderr
    readme = (project / "README.md").read_text()
    assert "<<<<<<< ours" in readme and TEMPLATE_UPDATE_LINE in readme
    app_tests = project / "src" / "todo" / "tests"
    assert (app_tests / "test_release_1_1_0.py").is_file()
    assert list(project.rglob("*.rej")) == []


def test_two_bakes_with_the_same_answers_are_byte_identical(cookies):
    first, second = (baked(cookies.bake()) for _ in range(2))
    assert files(first) == files(second)
    assert not (first / ".git").exists()


def files(folder):
    return {
        path.relative_to(folder): (path.read_bytes(), path.stat().st_mode)
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }
