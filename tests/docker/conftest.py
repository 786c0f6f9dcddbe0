"""Fixtures of the Docker layer: baked projects run with their own make on a real engine.

Under CI=true this layer is the point of the run, so a missing engine, Compose generation or
image is a failure, never a skip; elsewhere it is a skip that says why (support.unavailable).
Baked projects run on their default images: pulled when a registry has them, else the stand-ins
of offline-images/build.sh, built here when missing (tests/support.py).
"""

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import (
    DB_IMAGES,
    DOCKER_GROUP_USER,
    LATE_DB_SECONDS,
    MAKE_ENVIRONMENT,
    OFFLINE_IMAGES,
    PROJECT_SETTINGS,
    PYTHON_IMAGES,
    TEMPLATE_DIR,
    Projects,
    command_works,
    docker,
    explain,
    late_image,
    never_ready_image,
    remove_image,
    unavailable,
    unique_build_id,
)

FIGURES = []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark everything in this folder, before -m selects, so `-m docker` runs exactly this layer."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.docker)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("Docker layer figures")
        for text in FIGURES:
            terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def record_figure():
    """Keep a measurement (timings, counts) for the summary printed at the end of the run."""
    return FIGURES.append


@pytest.fixture(scope="session", autouse=True)
def _runner_settings_removed():
    """The runner's own BUILD_ID, COMPOSE, MAKEFLAGS, ... would be every baked project's: leave
    them out."""
    with pytest.MonkeyPatch.context() as patch:
        for name in (*PROJECT_SETTINGS, *MAKE_ENVIRONMENT):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def docker_engine():
    if shutil.which("docker") is None:
        unavailable("no docker client on PATH (run .ci/install-docker.sh or install Docker)")
    if not command_works("docker", "info"):
        unavailable("'docker info' fails: no engine answers (start dockerd or set DOCKER_HOST)")


@pytest.fixture(autouse=True)
def _engine_required(docker_engine):
    """Every test of this layer needs the engine; docker_engine decides skip or failure."""


def on_engine(image):
    return command_works("docker", "image", "inspect", image)


@pytest.fixture(scope="session")
def provide_image(docker_engine):
    """A function that returns an image once it is on the engine: pulled if a registry has it,
    else, for the images of OFFLINE_IMAGES, its stand-in built by offline-images/build.sh (tried
    once a session); an image still missing is unavailable()."""
    failed_builds = {}

    def provide(image):
        if on_engine(image) or command_works("docker", "pull", "--quiet", image):
            return image
        if image in OFFLINE_IMAGES and image not in failed_builds:
            built = subprocess.run(
                ["bash", str(TEMPLATE_DIR / "offline-images/build.sh"), image],
                capture_output=True, text=True, timeout=3600,
            )  # fmt: skip
            if built.returncode != 0:
                failed_builds[image] = f" (offline-images/build.sh failed: {explain(built)})"
        if not on_engine(image):
            unavailable(f"image {image} is not on the engine{failed_builds.get(image, '')}")
        return image

    return provide


@pytest.fixture(scope="session")
def base_images(provide_image):
    """The Python 3.11 and MariaDB images of tests.support (test_offline_images checks them)."""
    return {
        "PYTHON_IMAGE": provide_image(PYTHON_IMAGES["3.11"]),
        "DB_IMAGE": provide_image(DB_IMAGES["mariadb"]),
    }


@pytest.fixture
def new_project(cookies_session, provide_image):
    projects = Projects(cookies_session, provide_image)
    yield projects
    projects.clean()


@pytest.fixture(scope="module")
def new_module_project(cookies_session, provide_image):
    """new_project for fixtures that bake once for a whole module."""
    projects = Projects(cookies_session, provide_image)
    yield projects
    projects.clean()


@pytest.fixture(scope="session")
def late_db_image(provide_image):
    """The MySQL image, started LATE_DB_SECONDS late by a wrapper that sleeps first."""
    tag = late_image(provide_image(DB_IMAGES["mysql"]), LATE_DB_SECONDS)
    yield tag
    remove_image(tag)


@pytest.fixture(scope="session")
def never_ready_db_image(provide_image):
    """The MySQL image, its containers never starting the server."""
    tag = never_ready_image(provide_image(DB_IMAGES["mysql"]))
    yield tag
    remove_image(tag)


@pytest.fixture
def bystanders(provide_image):
    """A container, volume, network and image of nobody's, which no make clean may touch."""
    name = f"bystander-{unique_build_id()}"
    image = provide_image(PYTHON_IMAGES["3.11"])
    docker("network", "create", name)
    docker("volume", "create", name)
    docker("create", "--name", name, "--network", name, "--volume", f"{name}:/data", image, "true")
    built = subprocess.run(
        ["docker", "build", "--quiet", "--label", "application=bystander", "-"],
        input=f"FROM {image}\nRUN echo {name} >/bystander\n",
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    objects = {"container": name, "volume": name, "network": name, "image": built.stdout.strip()}
    yield objects
    docker("rm", "--force", name, check=False)
    docker("volume", "rm", name, check=False)
    docker("network", "rm", name, check=False)
    docker("image", "rm", "--force", objects["image"], check=False)


@pytest.fixture(scope="module")
def docker_group_user():
    """An ordinary user in the docker group, as on a developer's machine."""
    if os.getuid() != 0:
        unavailable("creating a non-root user in the docker group needs root")
    if subprocess.run(["getent", "group", "docker"], capture_output=True).returncode != 0:
        unavailable("there is no docker group on this machine")
    subprocess.run(["userdel", "--remove", DOCKER_GROUP_USER], capture_output=True)
    subprocess.run(
        ["useradd", "--create-home", "--groups", "docker", DOCKER_GROUP_USER], check=True
    )
    yield pwd.getpwnam(DOCKER_GROUP_USER)
    subprocess.run(["userdel", "--remove", DOCKER_GROUP_USER], capture_output=True)
