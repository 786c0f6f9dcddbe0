"""What the template's tests share: where things are, how to bake, how to run a baked project.

The one place that names the stand-in images, the Compose generations and a run's compose
project; the conftest files hold fixtures only.
"""

import json
import os
import subprocess
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
TEMPLATE_PROJECT_DIR = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
DEFAULT_ANSWERS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The images the Docker layer runs baked projects on: the registry-free stand-ins that
# `make offline-images` builds, unless TEMPLATE_*_IMAGE names others (e.g. the public ones).
PYTHON_IMAGES = {
    "3.11": os.environ.get("TEMPLATE_PYTHON_IMAGE", "offline/python:3.11-bookworm"),
    "3.13": os.environ.get("TEMPLATE_PYTHON313_IMAGE", "offline/python:3.13-trixie"),
}
DB_IMAGES = {
    "mysql": os.environ.get("TEMPLATE_MYSQL_IMAGE", "offline/mysql:9.7-sid"),
    "mariadb": os.environ.get("TEMPLATE_MARIADB_IMAGE", "offline/mariadb:11.8-trixie"),
}
COMPOSE_GENERATIONS = {"v2": "docker compose", "v1": "docker-compose"}


def baked(result):
    """The project folder of a successful bake; fails the test with cookiecutter's error if not."""
    assert result.exception is None, f"bake failed: {result.exception!r}"
    assert result.exit_code == 0
    return Path(result.project_path)


def run(command, cwd, env=None, timeout=600, check=True, **options):
    """Run a command, capturing its output, and show that output when it fails."""
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, **options
    )
    if check and completed.returncode != 0:
        pytest.fail(explain(completed, command))
    return completed


def explain(completed, command=None):
    return (
        f"{command or completed.args} exited {completed.returncode}\n"
        f"--- stdout\n{completed.stdout[-5000:]}\n--- stderr\n{completed.stderr[-5000:]}"
    )


def unique_build_id():
    return f"t{uuid.uuid4().hex[:8]}"


def compose_project(project, build_id):
    """The compose project of one build of a baked project, as its Makefile names it."""
    return f"{project.name}-{build_id}"


def make(project, target, env=None, *arguments, timeout=900):
    """Run the baked project's own make as a user would; its output is kept in make.log."""
    completed = subprocess.run(
        ["make", target, *arguments],
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    with (project / "make.log").open("a") as log:
        log.write(f"$ make {target} {' '.join(arguments)} -> {completed.returncode}\n")
        log.write(completed.stdout + completed.stderr)
    return completed


def docker(*arguments, check=True):
    return subprocess.run(["docker", *arguments], capture_output=True, text=True, check=check)


def ids(*listing):
    """The IDs a `docker ... --quiet` listing prints."""
    return sorted(docker(*listing).stdout.split())


def engine_state():
    """What make clean must leave as it found it: containers, volumes, networks and images."""
    return {
        "containers": ids("ps", "--all", "--quiet", "--no-trunc"),
        "volumes": ids("volume", "ls", "--quiet"),
        "networks": ids("network", "ls", "--quiet", "--no-trunc"),
        "images": ids("image", "ls", "--all", "--quiet", "--no-trunc"),
    }


def project_containers(compose_project_name, *labels):
    """IDs of a compose project's containers, stopped ones included, with these labels too."""
    filters = [f"label=com.docker.compose.project={compose_project_name}", *labels]
    listing = ["ps", "--all", "--quiet"]
    for value in filters:
        listing += ["--filter", value if value.startswith("label=") else f"label={value}"]
    return ids(*listing)


def junit_totals(report):
    """Totals over every <testsuite> of a JUnit report, and the names of the failed tests."""
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    totals = {
        key: sum(int(suite.get(key, 0)) for suite in suites)
        for key in ("tests", "failures", "errors", "skipped")
    }
    failed = [
        case.get("name")
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return totals, failed
