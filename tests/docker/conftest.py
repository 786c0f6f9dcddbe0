"""Fixtures of the Docker layer: baked projects run with their own make on a real engine.

Under CI=true a missing engine, Compose generation or image is a failure, never a skip
(support.unavailable). Baked projects run on their default images: pulled when a registry has
them, else the stand-ins of offline-images/build.sh, built here when missing.
"""

import json
import os
import pwd
import shutil
import subprocess
import uuid
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
    answered,
    command_works,
    docker,
    explain,
    free_port,
    run,
    tool,
    unavailable,
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
    """The runner's own BUILD_ID, COMPOSE, MAKEFLAGS, ... would be every baked project's."""
    with pytest.MonkeyPatch.context() as patch:
        for name in (*PROJECT_SETTINGS, *MAKE_ENVIRONMENT):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session", autouse=True)
def docker_engine():
    """Every test of this layer needs the engine: unavailable() decides skip or failure."""
    if shutil.which("docker") is None:
        unavailable("no docker client on PATH (run .ci/install-docker.sh or install Docker)")
    if not command_works("docker", "info"):
        unavailable("'docker info' fails: no engine answers (start dockerd or set DOCKER_HOST)")


def on_engine(image):
    return command_works("docker", "image", "inspect", image)


@pytest.fixture(scope="session")
def provide_image(docker_engine):
    """A function that returns an image once it is on the engine: pulled if a registry has it,
    else built by offline-images/build.sh (tried once a session); else unavailable()."""
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
    return {
        "PYTHON_IMAGE": provide_image(PYTHON_IMAGES["3.11"]),
        "DB_IMAGE": provide_image(DB_IMAGES["mariadb"]),
    }


@pytest.fixture(scope="session")
def registry(tmp_path_factory, docker_engine):
    """A real image registry (the CNCF distribution registry) on 127.0.0.1, which Docker may
    use over plain HTTP; its address, e.g. 127.0.0.1:41234."""
    program = tool("docker-registry", "apt-get install docker-registry")
    folder = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: {address}}}\n"
    )
    log = (folder / "registry.log").open("w")
    server = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=log)
    try:
        answered(f"http://{address}/v2/", 30, lambda: (folder / "registry.log").read_text())
        yield address
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


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


def wrapped_db_image(provide_image, entrypoint, cmd):
    """The MySQL image with another entrypoint, under a tag of its own, removed at the end; the
    project's db image build still runs its initialisation, only its containers start otherwise."""
    tag = f"template-tests/wrapped-db:{uuid.uuid4().hex[:8]}"
    dockerfile = f"FROM {provide_image(DB_IMAGES['mysql'])}\nENTRYPOINT {json.dumps(entrypoint)}\n"
    dockerfile += f"CMD {json.dumps(cmd)}\nLABEL template-tests=wrapper\n"
    run(["docker", "build", "--quiet", "--tag", tag, "-"], ".", input=dockerfile, timeout=300)
    yield tag
    docker("image", "rm", "--force", tag, check=False)


@pytest.fixture(scope="session")
def late_db_image(provide_image):
    """Starts its server LATE_DB_SECONDS late, then as the MySQL image does."""
    late = ["/bin/sh", "-c", f'sleep {LATE_DB_SECONDS}; exec docker-entrypoint.sh "$@"', "sh"]
    yield from wrapped_db_image(provide_image, late, ["mysqld"])


@pytest.fixture(scope="session")
def never_ready_db_image(provide_image):
    """Its containers run and never listen (and stop at once when asked)."""
    forever = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 0.2; done"]
    yield from wrapped_db_image(provide_image, forever, [])


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
