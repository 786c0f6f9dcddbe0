"""The generated CI: the file of the chosen service only, valid against its schema; each change runs
once; one job runs the project's own make targets in order and publishes only from the default
branch and tags, telling make tag which branch it is on. Scripts run with make and docker stubs;
tests/docker/test_pipelines.py runs the GitHub job's steps for real."""

import os
import re
import subprocess
import sys
from collections import namedtuple
from types import SimpleNamespace

import pytest
import yaml

from tests.support import baked, run, tool

CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}
SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
STEPS = ["make lint", "make test", "make release"]


# The pipelines CI starts (main is the default branch): the ref and GitHub event, GitLab's variables,
# whether each CI runs it, whether it publishes, and the branch make tag is told on GitHub.
Case = namedtuple("Case", "ref event gitlab on_github on_gitlab publishes branch", defaults=[None])
PIPELINES = {
    "default branch": Case("refs/heads/main", "push", {"CI_COMMIT_BRANCH": "main"}, True, True, True, "main"),
    "tag": Case("refs/tags/v1.2", "push", {"CI_COMMIT_TAG": "v1.2"}, True, True, True, ""),
    "other branch": Case("refs/heads/x", "push", {"CI_COMMIT_BRANCH": "x"}, True, True, False, "x"),
    # A branch with a merge request runs once, in the merge request's pipeline; on GitHub, a pull
    # request from the repository itself does not run, since the push of its branch did.
    "branch with a merge request": Case(
        "refs/heads/x", "push", {"CI_COMMIT_BRANCH": "x", "CI_OPEN_MERGE_REQUESTS": "team/app!7"},
        True, False, False, "x",
    ),
    "merge request": Case(
        "refs/pull/7/merge", "pull_request team/app",
        {"CI_PIPELINE_SOURCE": "merge_request_event"}, False, True, False,
    ),
    "pull request from a fork": Case(
        "refs/pull/8/merge", "pull_request fork/app",
        {"CI_PIPELINE_SOURCE": "merge_request_event"}, True, True, False, "8/merge",
    ),
}  # fmt: skip


def ci_file(cookies_session, ci):
    """The baked project and its parsed CI file."""
    project = baked(cookies_session.bake(extra_context={"ci": ci}))
    return project, yaml.safe_load((project / CI_FILES[ci]).read_text())


@pytest.mark.parametrize("ci", ["github", "gitlab", "none"])
def test_only_the_chosen_ci_file_is_generated_and_follows_its_schema(cookies_session, ci):
    project = baked(cookies_session.bake(extra_context={"ci": ci}))
    generated = [*project.glob(".github/**/*.y*ml"), *project.glob(".gitlab-ci.yml")]
    expected = [CI_FILES[ci]] if ci in CI_FILES else []
    assert [str(path.relative_to(project)) for path in generated] == expected
    assert (project / ".github").exists() == (ci == "github")
    if ci in CI_FILES:
        run([tool("check-jsonschema"), "--builtin-schema", SCHEMAS[ci], CI_FILES[ci]], project)


def stubbed(folder, script, env, shell="sh", cwd=None):
    """Run a CI script with make and docker stubs that log their arguments (make: and the branch
    variables make tag reads, and the build cache) and what they read on stdin; return the log."""
    stubs, log = folder / "bin", folder / "calls.log"
    stubs.mkdir(parents=True, exist_ok=True)
    make = "make $* ${BRANCH+BRANCH=$BRANCH}${BUILD_CACHE:+ BUILD_CACHE=$BUILD_CACHE}"
    lines = {"make": make, "docker": "docker $*"}
    for name, line in lines.items():
        (stubs / name).write_text(f'#!/bin/sh\necho "{line}" >>"{log}"\ncat >>"{log}"\n')
        (stubs / name).chmod(0o755)
    env = {"PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", **env}
    run([shell, "-e", "-c", script], cwd or folder, env=env, stdin=subprocess.DEVNULL)
    return [line.rstrip() for line in log.read_text().splitlines()] if log.exists() else []


def github_context(case):
    event, _, head = case.event.partition(" ")
    repository = SimpleNamespace(default_branch="main")
    pull_request = SimpleNamespace(head=SimpleNamespace(repo=SimpleNamespace(full_name=head)))
    return {
        "github": SimpleNamespace(
            event_name=event, ref=case.ref, ref_name=case.ref.split("/", 2)[2],
            ref_type="tag" if case.ref.startswith("refs/tags/") else "branch",
            repository="team/app", run_id=42, server_url="https://github.com",
            event=SimpleNamespace(repository=repository, pull_request=pull_request),
        ),
        "secrets": SimpleNamespace(GITHUB_TOKEN="s3cret"),
        "always": lambda: True,
        "true": True,
    }  # fmt: skip


def evaluate(expression, names):
    """A GitHub expression (bare, as in if:, or ${{ }} inside a string), in Python's terms."""

    def python(text):
        text = text.replace("||", " or ").replace("&&", " and ").replace("!=", " != ")
        return eval(text.replace("''", '""'), dict(names))

    if not isinstance(expression, str) or "${{" not in expression:
        return python(str(expression))
    whole = re.fullmatch(r"\$\{\{((?:(?!\}\}).)*)\}\}", expression.strip())
    if whole:
        return python(whole.group(1))
    return re.sub(r"\$\{\{(.*?)\}\}", lambda match: str(python(match.group(1))), expression)


def as_env(value, names):
    """An env: value: literal text, or its ${{ }} expressions evaluated."""
    if "${{" not in str(value):
        return str(value)
    value = evaluate(value, names)
    return str(value).lower() if isinstance(value, bool) else str(value)


def github_run(project, workflow, case, folder):
    """The calls the ci job makes for this pipeline, or None when the job does not run."""
    names = github_context(case)
    job = workflow["jobs"]["ci"]
    if not evaluate(job.get("if", "true"), names):
        return None
    env = {key: as_env(value, names) for key, value in workflow["env"].items()}
    env |= {key: as_env(value, names) for key, value in job["env"].items()}
    names["env"] = SimpleNamespace(**env)
    github_env = folder / "github_env"
    env |= {
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REPOSITORY": "Team/App",
        "GITHUB_REPOSITORY_OWNER": "Team",
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
        "GITHUB_ENV": str(github_env),
    }
    calls = []
    for step in job["steps"]:
        if "run" in step and evaluate(step.get("if", "true"), names):
            step_env = {key: as_env(value, names) for key, value in step.get("env", {}).items()}
            calls = stubbed(folder, step["run"], env | step_env, shell="bash", cwd=project)
            # What a step writes to $GITHUB_ENV is in the environment of the steps after it.
            if github_env.exists():
                env |= dict(line.split("=", 1) for line in github_env.read_text().splitlines())
    return calls


@pytest.mark.parametrize("name", PIPELINES)
def test_github_runs_each_change_once_and_publishes_from_the_default_branch_and_tags(
    cookies_session, tmp_path, name
):
    project, workflow = ci_file(cookies_session, "github")
    case = PIPELINES[name]
    calls = github_run(project, workflow, case, tmp_path)
    if not case.on_github:
        assert calls is None
        return
    # Pushes log in, and their builds share layers through a cache in the registry; pull requests
    # from forks do neither (their token cannot write packages). Registry paths are lowercase.
    pushed = case.event == "push"
    told = f"BRANCH={case.branch}" + " BUILD_CACHE=ghcr.io/team/app/build-cache" * pushed
    login = ["docker login ghcr.io --username octocat --password-stdin", "s3cret"]  # on stdin
    publish = ["make tag publish REGISTRY=ghcr.io/team"] * case.publishes
    steps = [f"{step} {told}".strip() for step in [*STEPS, *publish, "make clean"]]
    assert calls == [*login * pushed, *steps]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert workflow["jobs"]["ci"]["steps"][0]["with"]["fetch-depth"] == 0


def gitlab_rules_allow(rules, variables):
    for rule in rules:
        condition = re.sub(r"\$(\w+)", lambda m: repr(variables.get(m.group(1), "")), rule["if"])
        if eval(condition.replace("&&", " and ").replace("||", " or ")):
            return rule.get("when", "always") != "never"
    return False


@pytest.mark.parametrize("name", PIPELINES)
def test_gitlab_runs_each_change_once_and_publishes_from_the_default_branch_and_tags(
    cookies_session, tmp_path, name
):
    _, pipeline_file = ci_file(cookies_session, "gitlab")
    case = PIPELINES[name]
    variables = {"CI_PIPELINE_SOURCE": "push", "CI_DEFAULT_BRANCH": "main", **case.gitlab}
    assert gitlab_rules_allow(pipeline_file["workflow"]["rules"], variables) == case.on_gitlab
    if not case.on_gitlab:
        return
    registry = {
        "CI_REGISTRY": "registry.example.com",
        "CI_REGISTRY_IMAGE": "registry.example.com/team/app",
        "CI_REGISTRY_USER": "bot",
        "CI_REGISTRY_PASSWORD": "s3cret",
    }
    login = ["docker login registry.example.com --username bot --password-stdin", "s3cret"]
    publishing = (
        f"make tag publish REGISTRY=registry.example.com/team/app BRANCH={case.branch} "
        + "DEFAULT_BRANCH=main"
    )
    job = pipeline_file["lint-test-release"]
    calls = stubbed(tmp_path, "\n".join(job["script"]), {**registry, **variables})
    assert calls == [*login, *STEPS, *[publishing] * case.publishes]  # the password on stdin
    # Every pipeline's builds share layers through a cache in the project's registry.
    assert pipeline_file["variables"]["BUILD_CACHE"] == "$CI_REGISTRY_IMAGE/build-cache"
    reports = job["artifacts"]["reports"]
    assert reports["junit"] == ["reports/unittests.xml", "reports/acceptance.xml"]
    assert reports["coverage_report"] == {
        "coverage_format": "cobertura",
        "path": "reports/coverage.xml",
    }
    assert pipeline_file["workflow"]["auto_cancel"]["on_new_commit"] == "interruptible"


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_template_drift_is_reported_without_failing_the_pipeline(cookies_session, ci):
    _, ci_yaml = ci_file(cookies_session, ci)
    job = ci_yaml["jobs"]["template-drift"] if ci == "github" else ci_yaml["template-drift"]
    steps = job["steps"] if ci == "github" else [{"run": line} for line in job["script"]]
    assert any(step.get("run", "").endswith("cruft check") for step in steps)
    assert job.get("continue-on-error" if ci == "github" else "allow_failure") is True


def test_the_job_summary_lists_totals_and_failures(cookies_session, tmp_path):
    project, _ = ci_file(cookies_session, "github")
    report = tmp_path / "unittests.xml"
    report.write_text(
        '<testsuites><testsuite tests="3" failures="1" errors="0" skipped="1">'
        '<testcase classname="todo.tests.test_api" name="test_ok"/>'
        '<testcase classname="todo.tests.test_api" name="test_skipped"><skipped/></testcase>'
        '<testcase classname="todo.tests.test_api" name="test_create">'
        '<failure message="assert 400 == 201&#10;more">...</failure></testcase>'
        "</testsuite></testsuites>"
    )
    script = project / ".github/scripts/junit_summary.py"
    shown = run([sys.executable, str(script), str(report), "absent.xml"], tmp_path).stdout
    assert f"### {report}: 1 passed, 1 failed, 1 skipped" in shown
    assert "| `todo.tests.test_api.test_create` | assert 400 == 201 |" in shown
    assert "### absent.xml: not written" in shown
