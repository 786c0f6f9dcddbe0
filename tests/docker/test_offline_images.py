"""The stand-ins of offline-images/ keep the part of the official images' contract the generated
projects rely on (offline-images/README.md), checked on the images of tests.support: the
stand-ins where no registry answers (the official images otherwise), and the projects' defaults.
"""

import json
import re
import uuid

import pytest

from tests.support import DB_IMAGES, PYTHON_IMAGES, docker, explain, run

TIMEOUT = 120  # seconds, for every command and every wait
PASSWORD = "app'pw\\#2"  # a quote, a backslash and '#': the SQL escaping must hold
# From a second container: the app user's query, asked until it works, every failure on stderr.
POLL = """end=$((SECONDS + 120))
until "$CLIENT" --protocol=tcp -h "$DB" -u app --connect-timeout=2 -NB -e 'SELECT DATABASE()' app
do [ $SECONDS -lt $end ] || exit 1; sleep 0.1; done"""
NOT_LISTENING = re.compile(
    r"ERROR 200[235] \(HY000\): (Can't connect to|Unknown (MySQL )?server host)"
)
# pip install as root is refused where Debian's PEP 668 marker is (python3 as Debian ships it).
PYTHON_CHECK = """set -e
python3 -c 'import sys; print(sys.version)'
python -m venv /tmp/venv && /tmp/venv/bin/pip --version
pip install --no-index -r /dev/null
for name in PIP_CERT SSL_CERT_FILE; do
    echo "$name=${!name}" && [ -z "${!name}" ] || test -s "${!name}"
done"""


@pytest.fixture
def scratch():
    """A unique name prefix; the test's containers (with volumes) and network go at the end."""
    prefix = f"offline-images-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    for container in docker("ps", "--all", "--quiet", f"--filter=name={prefix}").stdout.split():
        docker("rm", "--force", "--volumes", container, check=False)
    docker("network", "rm", prefix, check=False)


@pytest.mark.parametrize("database", sorted(DB_IMAGES))
def test_a_database_initialises_from_the_environment_and_listens_only_when_done(
    scratch, provide_image, database
):
    """The agent's probe fails at once on a refusal: the server must not answer over TCP before
    the user and the database exist."""
    image = provide_image(DB_IMAGES[database])
    client = "mariadb" if database == "mariadb" else "mysql"
    network, prober, server = scratch, f"{scratch}-prober", f"{scratch}-db"
    docker("network", "create", network)
    docker("run", "--detach", "--name", prober, f"--network={network}", "--entrypoint=sleep",
           image, str(TIMEOUT * 2))  # fmt: skip
    docker("run", "--detach", "--name", server, f"--network={network}", "--env=MYSQL_USER=app",
           "--env=MYSQL_DATABASE=app", f"--env=MYSQL_PASSWORD={PASSWORD}",
           f"--env=MYSQL_ROOT_PASSWORD={PASSWORD}", image)  # fmt: skip
    polled = docker("exec", f"--env=CLIENT={client}", f"--env=DB={server}",
                    f"--env=MYSQL_PWD={PASSWORD}", prober, "bash", "-c", POLL,
                    timeout=TIMEOUT + 30)  # fmt: skip
    assert polled.stdout.strip() == "app"
    errors = [line for line in polled.stderr.splitlines() if line.startswith("ERROR")]
    assert errors, "the prober never saw the server before it was ready"
    assert all(NOT_LISTENING.match(line) for line in errors), polled.stderr


@pytest.mark.parametrize("version", sorted(PYTHON_IMAGES))
def test_python_image(scratch, provide_image, version):
    image = provide_image(PYTHON_IMAGES[version])
    done = docker("run", f"--name={scratch}-python", image, "bash", "-c", PYTHON_CHECK,
                  timeout=TIMEOUT * 2, check=False)  # fmt: skip
    assert done.returncode == 0, explain(done)
    assert done.stdout.startswith(version), done.stdout
    assert "/tmp/venv/lib/python" in done.stdout, done.stdout  # the venv's own pip
    labels = docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout
    if "offline-images.stand-in" in (json.loads(labels) or {}):  # they trust the host's CAs
        assert "PIP_CERT=/" in done.stdout and "SSL_CERT_FILE=/" in done.stdout, done.stdout


@pytest.mark.parametrize("database", sorted(DB_IMAGES))
@pytest.mark.parametrize("python", sorted(PYTHON_IMAGES))
def test_the_stand_ins_are_the_generated_defaults(cookies_session, python, database):
    """A baked project's make defaults to images that offline-images/build.sh stands in for."""
    answers = {"project_slug": f"std{uuid.uuid4().hex[:8]}", "python_version": python,
               "database": database}  # fmt: skip
    project = cookies_session.bake(extra_context=answers).project_path
    printed = "images: ; @echo $(PYTHON_IMAGE) $(DB_IMAGE)"
    shown = run(["make", "-s", "--eval", printed, "images"], project)
    assert shown.stdout.split() == [PYTHON_IMAGES[python], DB_IMAGES[database]]
