"""The generated CI: the file of the chosen service only, valid against its schema, running the
project's own make targets in order and publishing only from the default branch and tags."""

import os
import subprocess
from types import SimpleNamespace

import pytest
import yaml

from tests.support import baked, run, tool

CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}
SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
# Pipelines CI starts (main is the default branch): GitHub's ref, GitLab's variables, and whether
# the tested image is published.
PIPELINES = {
    "default branch": ("refs/heads/main", {"CI_COMMIT_BRANCH": "main"}, True),
    "tag": ("refs/tags/v1.2", {"CI_COMMIT_TAG": "v1.2"}, True),
    "other branch": ("refs/heads/feature", {"CI_COMMIT_BRANCH": "feature"}, False),
    "merge request": ("refs/pull/7/merge", {}, False),
}


def ci_file(cookies_session, ci):
    project = baked(cookies_session.bake(extra_context={"ci": ci}))
    return yaml.safe_load((project / CI_FILES[ci]).read_text())


@pytest.mark.parametrize("ci", ["github", "gitlab", "none"])
def test_only_the_chosen_ci_file_is_generated_and_follows_its_schema(cookies_session, ci):
    project = baked(cookies_session.bake(extra_context={"ci": ci}))
    generated = [*project.glob(".github/**/*.y*ml"), *project.glob(".gitlab-ci.yml")]
    expected = [CI_FILES[ci]] if ci in CI_FILES else []
    assert [str(path.relative_to(project)) for path in generated] == expected
    assert (project / ".github").exists() == (ci == "github")
    if ci in CI_FILES:
        run([tool("check-jsonschema"), "--builtin-schema", SCHEMAS[ci], CI_FILES[ci]], project)


def stubbed(folder, script, env, shell="sh"):
    """Run a CI script with make and docker stubs that log their arguments and what they read on
    stdin; return the log so far."""
    stubs, log = folder / "bin", folder / "calls.log"
    stubs.mkdir(parents=True, exist_ok=True)
    for name in ("make", "docker"):
        (stubs / name).write_text(f'#!/bin/sh\necho "{name} $*" >>"{log}"\ncat >>"{log}"\n')
        (stubs / name).chmod(0o755)
    env = {"PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", **env}
    run([shell, "-e", "-c", script], folder, env=env, stdin=subprocess.DEVNULL)
    return log.read_text().splitlines()


def github_release(workflow, ref, folder):
    """What the release job runs for a push to ref, its ${{ }} expressions evaluated."""
    repository = SimpleNamespace(default_branch="main")
    names = {
        "github": SimpleNamespace(ref=ref, event=SimpleNamespace(repository=repository)),
        "secrets": SimpleNamespace(GITHUB_TOKEN="s3cret"),
        "format": lambda text, *values: text.format(*values),
        "startsWith": str.startswith,
        "always": lambda: True,
        "true": True,
    }

    def evaluate(expression):
        python = expression.strip().removeprefix("${{").removesuffix("}}")
        return eval(python.replace("||", " or ").replace("&&", " and "), names)

    job = workflow["jobs"]["release"]
    names["env"] = SimpleNamespace(PUBLISH=str(evaluate(job["env"]["PUBLISH"])).lower())
    calls = []
    for step in job["steps"]:
        if "run" in step and evaluate(step.get("if", "true")):
            env = {name: str(evaluate(value)) for name, value in step.get("env", {}).items()}
            env |= {"GITHUB_ACTOR": "octocat", "GITHUB_REPOSITORY_OWNER": "Team"}
            calls = stubbed(folder, step["run"], env, shell="bash")
    return calls


def test_github_runs_lint_test_release_and_publishes_from_the_default_branch_and_tags(
    cookies_session, tmp_path
):
    workflow = ci_file(cookies_session, "github")
    jobs = workflow["jobs"]
    for job, target in (("lint", "make lint"), ("test", "make test")):
        assert next(step["run"] for step in jobs[job]["steps"] if "run" in step) == target
    assert set(jobs["release"]["needs"]) == {"lint", "test"}
    assert jobs["release"]["permissions"]["packages"] == "write"
    publishing = [
        "docker login ghcr.io --username octocat --password-stdin",
        "s3cret",  # on stdin, not on the command line
        "make tag publish REGISTRY=ghcr.io/team",  # registry paths are lowercase
    ]
    for name, (ref, _, publishes) in PIPELINES.items():
        calls = github_release(workflow, ref, tmp_path / name.replace(" ", "-"))
        assert calls == ["make release", *publishing * publishes, "make clean"], name


def test_gitlab_runs_lint_test_release_and_publishes_from_the_default_branch_and_tags(
    cookies_session, tmp_path
):
    pipeline = ci_file(cookies_session, "gitlab")
    assert pipeline["stages"] == ["test", "release"]
    assert pipeline["lint"]["script"] == ["make lint"]
    assert pipeline["test"]["script"] == ["make test"]
    assert pipeline["release"]["stage"] == "release"
    assert pipeline["release"]["artifacts"]["reports"]["junit"] == "reports/acceptance.xml"
    registry = {
        "CI_DEFAULT_BRANCH": "main",
        "CI_REGISTRY": "registry.example.com",
        "CI_REGISTRY_IMAGE": "registry.example.com/team/app",
        "CI_REGISTRY_USER": "bot",
        "CI_REGISTRY_PASSWORD": "s3cret",
    }
    publishing = [
        "docker login registry.example.com --username bot --password-stdin",
        "s3cret",  # on stdin, not on the command line
        "make tag publish REGISTRY=registry.example.com/team/app",
    ]
    script = "\n".join(pipeline["release"]["script"])
    for name, (_, variables, publishes) in PIPELINES.items():
        calls = stubbed(tmp_path / name.replace(" ", "-"), script, {**registry, **variables})
        assert calls == ["make release", *publishing * publishes], name
