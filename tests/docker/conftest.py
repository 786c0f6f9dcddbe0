"""The Docker layer: bakes projects and runs their own make on a real engine.

Under CI=true this layer is the point of the run, so a missing engine or Compose generation is a
failure, never a skip. Elsewhere it is a skip that says why. The images default to the
registry-free stand-ins of `make offline-images` (built here when missing); set
TEMPLATE_PYTHON_IMAGE and TEMPLATE_DB_IMAGE to test against other images, e.g. the public ones.
"""

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bench import slow_db
from tests.conftest import TEMPLATE_DIR

OFFLINE_PYTHON_IMAGE = "offline/python:3.11-bookworm"
OFFLINE_DB_IMAGE = "offline/mariadb:10.11-bookworm"
PYTHON_IMAGE = os.environ.get("TEMPLATE_PYTHON_IMAGE", OFFLINE_PYTHON_IMAGE)
DB_IMAGE = os.environ.get("TEMPLATE_DB_IMAGE", OFFLINE_DB_IMAGE)
COMPOSE_GENERATIONS = {"v2": "docker compose", "v1": "docker-compose"}
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MAKE_TIMEOUT = 900


# Measurements the tests make on the way (timings, counts), printed at the end of the run.
FIGURES = []


def record_figure(text):
    FIGURES.append(text)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("Docker layer figures")
        for text in FIGURES:
            terminalreporter.write_line(text)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark everything in this folder, before -m selects, so `-m docker` runs exactly this layer."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.docker)


def unavailable(reason):
    """Fail under CI, skip elsewhere, always saying why."""
    if IN_CI:
        pytest.fail(f"CI=true and the Docker layer cannot run: {reason}", pytrace=False)
    pytest.skip(f"Docker layer skipped: {reason} (under CI=true this is a failure)")


def command_works(command):
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_engine():
    if shutil.which("docker") is None:
        unavailable("no docker client on PATH (run .ci/install-docker.sh or install Docker)")
    if not command_works(["docker", "info"]):
        unavailable("'docker info' fails: no engine answers (start dockerd or set DOCKER_HOST)")


@pytest.fixture(autouse=True)
def _engine_required(docker_engine):
    """Every test of this layer needs the engine; the fixture above decides skip or failure."""


@pytest.fixture(scope="session")
def base_images(docker_engine):
    """The images the baked projects use, built from Debian packages when they are the defaults."""
    if (PYTHON_IMAGE, DB_IMAGE) == (OFFLINE_PYTHON_IMAGE, OFFLINE_DB_IMAGE):
        built = subprocess.run(
            ["bash", str(TEMPLATE_DIR / "offline-images/build.sh")],
            capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        if built.returncode != 0:
            unavailable(
                f"make offline-images failed:\n{built.stdout[-3000:]}{built.stderr[-3000:]}"
            )
    for image in (PYTHON_IMAGE, DB_IMAGE):
        if not command_works(["docker", "image", "inspect", image]):
            unavailable(f"image {image} is not on the engine (pull it or run make offline-images)")
    return {"PYTHON_IMAGE": PYTHON_IMAGE, "DB_IMAGE": DB_IMAGE}


def compose_command(generation):
    command = COMPOSE_GENERATIONS[generation]
    if not command_works([*command.split(), "version"]):
        unavailable(f"Compose {generation} ('{command}') is not installed")
    return command


def engine_state():
    """What make clean must leave as it found it: containers, volumes and networks."""

    def ids(*command):
        listed = subprocess.run(["docker", *command], capture_output=True, text=True, check=True)
        return sorted(listed.stdout.split())

    return {
        "containers": ids("ps", "--all", "--quiet", "--no-trunc"),
        "volumes": ids("volume", "ls", "--quiet"),
        "networks": ids("network", "ls", "--quiet", "--no-trunc"),
    }


def project_containers(compose_project, *labels):
    """IDs of the compose project's containers, stopped ones included, with these labels too."""
    filters = [
        f"label=com.docker.compose.project={compose_project}",
        *(f"label={x}" for x in labels),
    ]
    command = ["docker", "ps", "--all", "--quiet"]
    for value in filters:
        command += ["--filter", value]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()


def dangling_images(label):
    listed = subprocess.run(
        ["docker", "images", "--quiet", "--filter", "dangling=true", "--filter", f"label={label}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return listed.stdout.split()


def make(project, target, env, *arguments, timeout=MAKE_TIMEOUT):
    """Run the baked project's own make, as a user would, and keep its output for the report."""
    completed = subprocess.run(
        ["make", target, *arguments],
        cwd=project, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    log = project / f"make-{target}.log"
    with log.open("a") as out:
        out.write(f"$ make {target} {' '.join(arguments)} -> {completed.returncode}\n")
        out.write(completed.stdout + completed.stderr)
    return completed


def explain(completed):
    return f"exit {completed.returncode}\n--- stdout\n{completed.stdout[-5000:]}\n--- stderr\n{completed.stderr[-5000:]}"


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


def coverage_rate(report):
    return float(ElementTree.parse(report).getroot().get("line-rate"))


def unique_build_id():
    return f"t{uuid.uuid4().hex[:8]}"


def bake_project(cookies, **answers):
    result = cookies.bake(extra_context=answers)
    assert result.exception is None, repr(result.exception)
    return Path(result.project_path)


def project_env(base_images, compose, build_id, **extra):
    env = {**base_images, "COMPOSE": compose, "BUILD_ID": build_id, **extra}
    return {key: str(value) for key, value in env.items()}


@pytest.fixture(scope="session")
def late_db_image(base_images):
    """The database image, started 30 s late: a wrapper sleeps before the real entrypoint."""
    tag = slow_db.late_db_image(base_images["DB_IMAGE"], 30)
    yield tag
    slow_db.remove_image(tag)


@pytest.fixture(scope="session")
def never_ready_db_image(base_images):
    tag = slow_db.never_ready_db_image(base_images["DB_IMAGE"])
    yield tag
    slow_db.remove_image(tag)
