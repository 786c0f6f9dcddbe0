"""The stand-ins of offline-images/ keep the part of the public images' contract the projects use
(offline-images/README.md), checked on the real engine: the images of tests.support.DB_IMAGES and
PYTHON_IMAGES, which are the stand-ins where no registry answers (the official images otherwise),
and those are the generated project's defaults.
"""

import json
import re
import subprocess
import time
import uuid
from collections import namedtuple

import pytest

from tests.support import DB_IMAGES, PYTHON_IMAGES, explain

pytestmark = pytest.mark.docker

TIMEOUT = 120  # seconds, for every command and every wait
ROOT_PASSWORD = "r00t'pw\\#1"  # a quote, a backslash and '#': the SQL escaping must hold
APP_PASSWORD = "app'pw\\#2"
Database = namedtuple("Database", "kind image client")


def docker(*arguments, check=True, timeout=TIMEOUT):
    done = subprocess.run(["docker", *arguments], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        pytest.fail(explain(done))
    return done


@pytest.fixture
def scratch(request):
    """A unique name prefix; the test's containers (with volumes) and network go at the end."""
    prefix = f"offline-images-test-{uuid.uuid4().hex[:10]}"

    def remove():
        for container in docker("ps", "--all", "--quiet", f"--filter=name={prefix}").stdout.split():
            docker("rm", "--force", "--volumes", container, check=False)
        docker("network", "rm", prefix, check=False)

    request.addfinalizer(remove)
    return prefix


@pytest.fixture(params=sorted(DB_IMAGES))
def database(request, provide_image):
    client = "mariadb" if request.param == "mariadb" else "mysql"
    return Database(request.param, provide_image(DB_IMAGES[request.param]), client)


def start_db(scratch, database, *options, env=(), docker_options=()):
    name = f"{scratch}-db"
    settings = [f"--env={setting}" for setting in env]
    docker("run", "--detach", "--name", name, *settings, *docker_options, database.image, *options)
    return name


def query(database, inside, host, user, password, sql, db=None, check=True):
    """SQL over TCP from container INSIDE; MYSQL_PWD passes the password as it is."""
    command = [database.client, "--protocol=tcp", f"--host={host}", f"--user={user}", "-NB"]
    done = docker("exec", "--env", f"MYSQL_PWD={password}", inside, *command, "-e", sql,
                  *([db] if db else []), check=check)  # fmt: skip
    return done.stdout.strip() if check else done


def wait_for(database, server, user, password, sql, db=None):
    """The answer to SQL once the server answers it over TCP (asked from inside its container)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done = query(database, server, "127.0.0.1", user, password, sql, db, check=False)
        if done.returncode == 0:
            return done.stdout.strip()
        if docker("inspect", "--format={{.State.Running}}", server).stdout.strip() != "true":
            break
        time.sleep(0.2)
    pytest.fail(f"{server} never answered {sql!r}:\n{explain(docker('logs', server))}")


# From a second container: ask the app user's query until it works, every failure on stderr.
POLL = """end=$((SECONDS + 120))
until "$CLIENT" --protocol=tcp -h "$DB" -u app --connect-timeout=2 -NB -e 'SELECT DATABASE()' app
do [ $SECONDS -lt $end ] || exit 1; sleep 0.1; done"""
NOT_LISTENING = re.compile(
    r"ERROR 200[235] \(HY000\): (Can't connect to|Unknown (MySQL )?server host)"
)


def test_initialises_from_the_environment_and_listens_only_when_done(scratch, database):
    network, prober = scratch, f"{scratch}-prober"  # the network is removed with the containers
    docker("network", "create", network)
    docker("run", "--detach", "--name", prober, f"--network={network}", "--entrypoint=sleep",
           database.image, str(TIMEOUT * 2))  # fmt: skip
    env = (f"MYSQL_ROOT_PASSWORD={ROOT_PASSWORD}", "MYSQL_DATABASE=app", "MYSQL_USER=app",
           f"MYSQL_PASSWORD={APP_PASSWORD}")  # fmt: skip
    server = start_db(scratch, database, env=env, docker_options=[f"--network={network}"])
    polled = docker("exec", f"--env=CLIENT={database.client}", f"--env=DB={server}",
                    f"--env=MYSQL_PWD={APP_PASSWORD}", prober, "bash", "-c", POLL,
                    timeout=TIMEOUT + 30)  # fmt: skip
    assert polled.stdout.strip() == "app"
    errors = [line for line in polled.stderr.splitlines() if line.startswith("ERROR")]
    assert errors, "the prober never saw the server before it was ready"
    # Nothing listening, never a server's answer (access denied, unknown database, host not
    # allowed): TCP must not answer before the user and the database exist.
    assert all(NOT_LISTENING.match(line) for line in errors), polled.stderr

    assert query(database, prober, server, "root", ROOT_PASSWORD, "SELECT 1") == "1"
    wrong = query(database, prober, server, "root", "wrong", "SELECT 1", check=False)
    assert wrong.returncode != 0 and "1045" in wrong.stderr
    tz_zones = "SELECT COUNT(*) > 0 FROM mysql.time_zone_name"
    assert query(database, prober, server, "root", ROOT_PASSWORD, tz_zones) == "1"
    # Started as root, the server runs as mysql, and it logs on stderr.
    assert docker("exec", server, "stat", "-c", "%U", "/proc/1").stdout.strip() == "mysql"
    logs = docker("logs", server)
    assert logs.stdout == "" and "ready for connections" in logs.stderr


def test_server_options_as_arguments(scratch, database):
    env = [f"MYSQL_ROOT_PASSWORD={ROOT_PASSWORD}"]
    server = start_db(scratch, database, "--max-connections=77", env=env)
    assert wait_for(database, server, "root", ROOT_PASSWORD, "SELECT @@max_connections") == "77"


def test_refuses_an_empty_datadir_without_root_password(scratch, database):
    server = start_db(scratch, database, env=["MYSQL_DATABASE=app"])
    assert docker("wait", server).stdout.strip() != "0"
    assert re.search(r"(MYSQL|MARIADB)_ROOT_PASSWORD", docker("logs", server).stderr)


def test_tmpfs_datadir_and_settings_spelling(scratch, database):
    # MariaDB's own MARIADB_* spelling wins over MYSQL_*; the MySQL image knows only MYSQL_*.
    prefix = "MARIADB" if database.kind == "mariadb" else "MYSQL"
    env = [f"{prefix}_ROOT_PASSWORD={ROOT_PASSWORD}", f"{prefix}_DATABASE=shop",
           f"{prefix}_USER=shopper", f"{prefix}_PASSWORD={APP_PASSWORD}",
           f"{prefix}_INITDB_SKIP_TZINFO=1"]  # fmt: skip
    if database.kind == "mariadb":
        env.append("MYSQL_PASSWORD=not-this-one")
    server = start_db(scratch, database, env=env, docker_options=["--tmpfs=/var/lib/mysql"])
    shop = wait_for(database, server, "shopper", APP_PASSWORD, "SELECT DATABASE()", "shop")
    assert shop == "shop"
    zones = "SELECT COUNT(*) FROM mysql.time_zone_name"
    assert query(database, server, "127.0.0.1", "root", ROOT_PASSWORD, zones) == "0"


def test_client_programs(scratch, database):
    which = "command -v mysql; command -v mariadb; true"
    found = docker("run", f"--name={scratch}-which", "--entrypoint=sh",
                   database.image, "-c", which).stdout  # fmt: skip
    assert {line.rsplit("/", 1)[-1] for line in found.split()} == {database.client}


# pip install as root is refused where Debian's PEP 668 marker is (python3 as Debian ships it).
PYTHON_CHECK = """set -e
python3 -c 'import sys; print(sys.version)'
python -m venv /tmp/venv && /tmp/venv/bin/pip --version
pip install --no-index -r /dev/null
for name in PIP_CERT SSL_CERT_FILE; do
    echo "$name=${!name}" && [ -z "${!name}" ] || test -s "${!name}"
done"""


@pytest.mark.parametrize("version", sorted(PYTHON_IMAGES))
def test_python_image(scratch, provide_image, version):
    image = provide_image(PYTHON_IMAGES[version])
    done = docker("run", f"--name={scratch}-python", image, "bash", "-c",
                  PYTHON_CHECK, timeout=TIMEOUT * 2, check=False)  # fmt: skip
    assert done.returncode == 0, explain(done)
    assert done.stdout.startswith(version), done.stdout
    assert "/tmp/venv/lib/python" in done.stdout, done.stdout  # the venv's own pip
    if is_stand_in(image):  # the stand-ins trust the build host's CA bundle
        assert "PIP_CERT=/" in done.stdout and "SSL_CERT_FILE=/" in done.stdout, done.stdout


def is_stand_in(image):
    labels = docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout
    return "offline-images.stand-in" in (json.loads(labels) or {})


@pytest.mark.parametrize("database", sorted(DB_IMAGES))
@pytest.mark.parametrize("python", sorted(PYTHON_IMAGES))
def test_the_stand_ins_are_the_generated_defaults(cookies_session, python, database):
    """A baked project's make defaults to images that offline-images/build.sh stands in for."""
    answers = {"project_slug": f"std{uuid.uuid4().hex[:8]}", "python_version": python,
               "database": database}  # fmt: skip
    project = cookies_session.bake(extra_context=answers).project_path
    shown = subprocess.run(
        ["make", "-s", "--eval", "images: ; @echo $(PYTHON_IMAGE) $(DB_IMAGE)", "images"],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    assert shown.returncode == 0, explain(shown)
    assert shown.stdout.split() == [PYTHON_IMAGES[python], DB_IMAGES[database]]
