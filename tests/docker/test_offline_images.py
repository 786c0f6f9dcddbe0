"""The stand-ins of offline-images/ keep the part of the official images' contract the generated
projects rely on (offline-images/README.md), checked on the images of tests.support: the
stand-ins where no registry answers (the official images otherwise), and the projects' defaults.
"""

import json
import re
import uuid

import pytest

from tests.support import DB_IMAGES, PROXY_IMAGE, PYTHON_IMAGES, answered, docker, explain, run

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


@pytest.mark.parametrize("database", sorted(DB_IMAGES))
def test_a_database_reads_its_passwords_from_files_as_docker_secrets_arrive(
    scratch, provide_image, database, tmp_path
):
    image = provide_image(DB_IMAGES[database])
    (tmp_path / "password").write_text(PASSWORD)
    secret = f"--volume={tmp_path / 'password'}:/run/secrets/password:ro"
    both = docker("run", "--rm", secret, "--env=MYSQL_ROOT_PASSWORD=x",
                  "--env=MYSQL_ROOT_PASSWORD_FILE=/run/secrets/password", image,
                  check=False)  # fmt: skip
    assert both.returncode == 1
    assert "both MYSQL_ROOT_PASSWORD and MYSQL_ROOT_PASSWORD_FILE are set" in both.stderr

    server = f"{scratch}-db"
    docker("run", "--detach", "--name", server, secret, "--env=MYSQL_USER=app",
           "--env=MYSQL_DATABASE=app", "--env=MYSQL_PASSWORD_FILE=/run/secrets/password",
           "--env=MYSQL_ROOT_PASSWORD_FILE=/run/secrets/password", image)  # fmt: skip
    client = "mariadb" if database == "mariadb" else "mysql"
    polled = docker("exec", f"--env=CLIENT={client}", "--env=DB=127.0.0.1",
                    f"--env=MYSQL_PWD={PASSWORD}", server, "bash", "-c", POLL,
                    timeout=TIMEOUT + 30)  # fmt: skip
    assert polled.stdout.strip() == "app"


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
    printed = "images: ; @echo $(PYTHON_IMAGE) $(DB_IMAGE) $(PROXY_IMAGE)"
    shown = run(["make", "-s", "--eval", printed, "images"], project)
    assert shown.stdout.split() == [PYTHON_IMAGES[python], DB_IMAGES[database], PROXY_IMAGE]


def test_the_proxy_runs_conf_d_in_the_foreground_and_logs_to_stdout(
    scratch, provide_image, tmp_path
):
    """As make deploy's stack uses it: its site replaced by a file mounted into conf.d."""
    site = tmp_path / "default.conf"
    site.write_text("server { listen 80; location / { return 200 'from conf.d'; } }\n")
    proxy = docker("run", "--detach", f"--name={scratch}-proxy", "--publish=127.0.0.1::80",
                   f"--volume={site}:/etc/nginx/conf.d/default.conf:ro",
                   provide_image(PROXY_IMAGE)).stdout.strip()  # fmt: skip
    port = docker("port", proxy, "80").stdout.split(":")[-1].strip()
    assert answered(f"http://127.0.0.1:{port}/", TIMEOUT) == (200, b"from conf.d")
    assert "nginx -g daemon off;" in docker("top", proxy).stdout
    assert '"GET / HTTP/1.1" 200' in docker("logs", proxy).stdout
