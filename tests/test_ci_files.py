"""The generated CI: the file of the chosen service only, valid against its schema, running the
project's own make targets in order and publishing only from the default branch and tags."""

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import baked, run

CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}
SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}


def bake(cookies_session, ci):
    return baked(cookies_session.bake(extra_context={"ci": ci}))


def check_jsonschema():
    """requirements-dev.txt installs it beside this Python; its schemas ship with it (offline)."""
    beside = Path(sys.executable).parent / "check-jsonschema"
    found = str(beside) if beside.exists() else shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed: pip install -r requirements-dev.txt")
    return found


@pytest.mark.parametrize("ci", ["github", "gitlab", "none"])
def test_only_the_chosen_service_gets_a_ci_file(cookies_session, ci):
    project = bake(cookies_session, ci)
    present = {service for service, path in CI_FILES.items() if (project / path).exists()}
    assert present == ({ci} if ci in CI_FILES else set())
    assert (project / ".github").exists() == (ci == "github")


@pytest.mark.parametrize("ci", list(CI_FILES))
def test_the_ci_file_follows_its_schema(cookies_session, ci):
    project = bake(cookies_session, ci)
    run([check_jsonschema(), "--builtin-schema", SCHEMAS[ci], CI_FILES[ci]], project)


def test_github_runs_lint_test_release_and_publishes_from_the_default_branch_and_tags(
    cookies_session,
):
    project = bake(cookies_session, "github")
    jobs = yaml.safe_load((project / CI_FILES["github"]).read_text())["jobs"]

    def commands(job):
        return [step["run"] for step in jobs[job]["steps"] if "run" in step]

    assert commands("lint")[0] == "make lint" and commands("test")[0] == "make test"
    assert set(jobs["release"]["needs"]) == {"lint", "test"}
    release = commands("release")
    assert release[0] == "make release" and release[-1] == "make clean"
    publishing = [step for step in jobs["release"]["steps"] if "publish" in step.get("run", "")]
    login = [step for step in jobs["release"]["steps"] if "docker login" in step.get("run", "")]
    assert publishing and login and "--password-stdin" in login[0]["run"]
    for step in publishing + login:
        assert step["if"] == "env.PUBLISH == 'true'"
    condition = jobs["release"]["env"]["PUBLISH"]
    assert "default_branch" in condition and "refs/tags/" in condition
    assert jobs["release"]["permissions"]["packages"] == "write"


def test_gitlab_runs_lint_test_release_and_publishes_from_the_default_branch_and_tags(
    cookies_session,
):
    project = bake(cookies_session, "gitlab")
    pipeline = yaml.safe_load((project / CI_FILES["gitlab"]).read_text())

    assert pipeline["stages"] == ["test", "release"]
    assert pipeline["lint"]["script"] == ["make lint"]
    assert pipeline["test"]["script"] == ["make test"]
    assert pipeline["release"]["stage"] == "release"
    make_release, publish = pipeline["release"]["script"]
    assert make_release == "make release"
    assert '"$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH"' in publish and "$CI_COMMIT_TAG" in publish
    assert "--password-stdin" in publish and "make tag publish" in publish
    assert pipeline["release"]["artifacts"]["reports"]["junit"] == "reports/acceptance.xml"
