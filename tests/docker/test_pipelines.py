"""The generated GitHub workflow's ci job, simulated: act cannot run here, so its run: steps run in
order and for real (make, Docker, Compose, and a real registry standing in for ghcr.io), in a fresh
clone of the project, with the variables GitHub's runner sets for the push of a version tag. Of its
uses: steps, checkout is the clone and upload-artifact is checked to find its path."""

import json
import os
import subprocess
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import yaml

from tests.support import git, run
from tests.test_ci_files import PIPELINES, as_env, evaluate, github_context


def docker_config(folder):
    """A Docker client configuration of the test's own, for docker login, with the CLI plugins."""
    plugins = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "cli-plugins"
    folder.mkdir()
    if plugins.is_dir():
        (folder / "cli-plugins").symlink_to(plugins)
    return folder


def test_the_github_job_tests_releases_and_publishes_a_version_tag(new_project, registry, tmp_path):
    baked = new_project(ci="github", build_id=None)
    for command in ("init -q", "add -A", "commit -q -m Baked", "tag v1.0.0"):
        git(baked.path, *command.split())
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(baked.path), str(clone)], tmp_path)
    run(["git", "checkout", "-q", "v1.0.0"], clone)  # a tag's run: a detached HEAD
    workflow = yaml.safe_load((clone / ".github/workflows/ci.yml").read_text())
    job = workflow["jobs"]["ci"]
    names = github_context(PIPELINES["tag"]._replace(ref="refs/tags/v1.0.0"))
    names["github"].run_id = uuid.uuid4().int % 10**9
    env = {key: as_env(value, names) for key, value in {**workflow["env"], **job["env"]}.items()}
    names["env"] = SimpleNamespace(**env)
    summary, github_env = tmp_path / "summary.md", tmp_path / "github_env"
    env |= {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REPOSITORY": "Team/App",
        "GITHUB_REPOSITORY_OWNER": "Team",
        "GITHUB_ENV": str(github_env),
        "GITHUB_REF": "refs/tags/v1.0.0",
        "GITHUB_STEP_SUMMARY": str(summary),
        "REGISTRY_HOST": registry,  # the stand-in for ghcr.io
        "DOCKER_CONFIG": str(docker_config(tmp_path / "docker-config")),
    }
    assert evaluate(job["if"], names) and env["PUBLISH"] == "true"

    ran = []
    for step in job["steps"]:
        if not evaluate(step.get("if", "true"), names):
            continue
        if "uses" in step:
            if "upload-artifact" in step["uses"]:
                assert (clone / step["with"]["path"]).exists(), step
            continue
        step_env = {key: as_env(value, names) for key, value in step.get("env", {}).items()}
        completed = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=clone, env={**os.environ, **env, **step_env},
            capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        assert completed.returncode == 0, f"{step['run']}\n{completed.stdout}{completed.stderr}"
        ran.append(step["run"])
        if github_env.exists():  # what a step writes there is the later steps' environment
            env |= dict(line.split("=", 1) for line in github_env.read_text().splitlines())

    assert ran[-1] == "make clean" and len(ran) == 7, ran
    sha = run(["git", "rev-parse", "--short", "HEAD"], clone).stdout.strip()
    listing = f"http://{registry}/v2/team/{baked.slug}/tags/list"
    with urllib.request.urlopen(listing, timeout=10) as response:
        assert sorted(json.load(response)["tags"]) == sorted([sha, "v1.0.0", "latest"])
    # The builds pushed their layers for the next run (tests/docker/test_build_cache.py).
    with urllib.request.urlopen(f"http://{registry}/v2/team/app/build-cache/tags/list") as response:
        assert sorted(json.load(response)["tags"]) == ["acceptance", "agent", "dev", "release"]
    shown = summary.read_text()
    assert "reports/unittests.xml:" in shown and "reports/acceptance.xml:" in shown
    assert " 0 failed" in shown and "not written" not in shown
    # The published tags stay after make clean, by design: remove them here.
    for tag in (sha, "v1.0.0", "latest"):
        run(["docker", "image", "rm", f"{registry}/team/{baked.slug}:{tag}"], clone)
