"""The registry-free stand-ins of offline-images/ keep the public images' contract.

The baked projects only work on them if the MariaDB stand-in initialises like the official
mariadb/mysql images (MYSQL_*/MARIADB_* environment, initdb.d scripts, no TCP until the init is
done, server options as arguments) and the Python stand-in behaves like python:3.x-slim. The
database tests hold for the official mariadb image too (set TEMPLATE_DB_IMAGE to check).
"""

import re
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.docker

ROOT_PASSWORD = "r00t'pw\\#"  # quote, backslash and '#': the escaping must hold
APP_PASSWORD = 'app"pw$'


def docker(*args, check=True, timeout=120):
    result = subprocess.run(
        ["docker", *args], check=False, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


class Scratch:
    """Containers and networks of one test, all removed (with their volumes) at the end."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:10]
        self.containers = []
        self.networks = []

    def name(self, what):
        return f"offline-images-test-{what}-{self.tag}"

    def network(self):
        name = self.name("net")
        docker("network", "create", name)
        self.networks.append(name)
        return name

    def create(self, what, *args):
        name = self.name(what)
        self.containers.append(name)
        docker("create", "--name", name, *args)
        return name

    def run(self, what, *args):
        name = self.name(what)
        self.containers.append(name)
        docker("run", "-d", "--name", name, *args)
        return name

    def cleanup(self):
        for name in self.containers:
            docker("rm", "-f", "-v", name, check=False)
        for name in self.networks:
            docker("network", "rm", name, check=False)


@pytest.fixture
def scratch():
    s = Scratch()
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def db_image(base_images):
    return base_images["DB_IMAGE"]


def sql(client, host, user, password, query, database=None, check=True):
    """Run QUERY over TCP from the client container; MYSQL_PWD keeps odd passwords intact."""
    args = ["exec", "-e", f"MYSQL_PWD={password}", client, "mariadb", "--protocol=tcp",
            "-h", host, "-u", user, "--batch", "--skip-column-names", "-e", query]  # fmt: skip
    if database:
        args.append(database)
    return docker(*args, check=check)


def logs_of(container):
    result = docker("logs", container, check=False)
    return result.stdout + result.stderr


def wait_for_query(client, host, user, password, database=None, server=None, timeout=60):
    """An authenticated query is the only proof of readiness (a ping answers wrong credentials)."""
    deadline = time.monotonic() + timeout
    while True:
        result = sql(client, host, user, password, "SELECT 1", database, check=False)
        if result.returncode == 0:
            return result.stdout.strip()
        if time.monotonic() > deadline:
            tail = logs_of(server or host)[-3000:]
            raise AssertionError(f"{host} never answered:\n{result.stderr}\n{tail}")
        time.sleep(0.2)


# Polls TCP from the moment the server container exists; reports how many attempts found
# nothing listening, then what the init scripts had done when TCP first answered.
TCP_PROBE = r"""
fails=0
for i in $(seq 1 600); do
    if mariadb-admin --protocol=tcp -h "$DB" --connect-timeout=1 ping >/dev/null 2>&1; then
        steps=$(MYSQL_PWD="$PW" mariadb --protocol=tcp -h "$DB" -u app --batch \
            --skip-column-names -e 'SELECT GROUP_CONCAT(step ORDER BY step) FROM init_marker' app)
        echo "fails=$fails steps=$steps"
        exit 0
    fi
    fails=$((fails + 1))
    sleep 0.1
done
echo "fails=$fails never"
"""

INIT_SQL = "CREATE TABLE init_marker (step INT);\nINSERT INTO init_marker VALUES (1);\n"
# Sourced (not executable): gets the entrypoint's docker_process_sql; the sleep keeps the
# temporary server up long enough for the probe to try TCP during the init.
INIT_SOURCED_SH = "sleep 3\ndocker_process_sql <<<'INSERT INTO init_marker VALUES (2)'\n"
INIT_EXECUTED_SH = (
    "#!/bin/bash\nset -e\n"
    'test -n "$MYSQL_DATABASE" -a "$MYSQL_DATABASE" = "$MARIADB_DATABASE"\n'
    "docker_process_sql -e 'INSERT INTO init_marker VALUES (3)'\n"
)


def test_mariadb_mysql_env_initdb_and_tcp_only_after_init(scratch, db_image, tmp_path):
    net = scratch.network()
    client = scratch.run("client", "--network", net, db_image, "sleep", "300")
    db = scratch.create(
        "db", "--network", net,
        "-e", f"MYSQL_ROOT_PASSWORD={ROOT_PASSWORD}", "-e", "MYSQL_DATABASE=app",
        "-e", "MYSQL_USER=app", "-e", f"MYSQL_PASSWORD={APP_PASSWORD}",
        db_image, "--innodb-flush-log-at-trx-commit=0", "--max-connections=77",
    )  # fmt: skip
    initdb = tmp_path / "initdb.d"
    initdb.mkdir()
    (initdb / "01-marker.sql").write_text(INIT_SQL)
    (initdb / "02-slow.sh").write_text(INIT_SOURCED_SH)
    (initdb / "03-exec.sh").write_text(INIT_EXECUTED_SH)
    (initdb / "03-exec.sh").chmod(0o755)
    initdb.chmod(0o755)
    # docker cp rather than a bind mount: works with a remote engine too.
    docker("cp", f"{initdb}/.", f"{db}:/docker-entrypoint-initdb.d/")

    docker("start", db)
    probe = docker("exec", "-e", f"DB={db}", "-e", f"PW={APP_PASSWORD}", client,
                   "bash", "-c", TCP_PROBE, timeout=90)  # fmt: skip
    report = probe.stdout.strip()
    match = re.fullmatch(r"fails=(\d+) steps=(\S*)", report)
    assert match, f"TCP never answered: {report}\n{logs_of(db)[-3000:]}"
    assert match.group(2) == "1,2,3", f"TCP answered before the initdb.d scripts finished: {report}"
    assert int(match.group(1)) > 0, f"the probe never saw the server closed during init: {report}"

    # The app user: over TCP from another container, ALL on its database and nothing else.
    assert wait_for_query(client, db, "app", APP_PASSWORD, "app") == "1"
    sql(client, db, "app", APP_PASSWORD, "CREATE TABLE t (id INT); DROP TABLE t", "app")
    denied = sql(client, db, "app", APP_PASSWORD, "SELECT COUNT(*) FROM mysql.user", check=False)
    assert denied.returncode != 0
    assert sql(client, db, "app", "wrong", "SELECT 1", check=False).returncode != 0

    # Root over TCP with its password, and only with it.
    out = sql(client, db, "root", ROOT_PASSWORD,
              "SELECT @@innodb_flush_log_at_trx_commit, @@max_connections").stdout.split()  # fmt: skip
    assert out == ["0", "77"], "server options given as arguments were not applied"
    assert sql(client, db, "root", "", "SELECT 1", check=False).returncode != 0

    # The server is PID 1, runs as mysql, and stops promptly on SIGTERM.
    assert docker("exec", db, "cat", "/proc/1/comm").stdout.strip() in {"mariadbd", "mysqld"}
    assert docker("exec", db, "stat", "-c", "%U", "/proc/1").stdout.strip() == "mysql"
    started = time.monotonic()
    docker("stop", "-t", "30", db)
    assert time.monotonic() - started < 10, "SIGTERM did not stop the server promptly"
    assert docker("inspect", "-f", "{{.State.ExitCode}}", db).stdout.strip() == "0"


def test_mariadb_twins_win_and_tmpfs_datadir(scratch, db_image):
    net = scratch.network()
    client = scratch.run("client", "--network", net, db_image, "sleep", "300")
    db = scratch.run(
        "db", "--network", net, "--tmpfs", "/var/lib/mysql",
        "-e", f"MARIADB_ROOT_PASSWORD={ROOT_PASSWORD}", "-e", "MARIADB_DATABASE=shop",
        "-e", "MARIADB_USER=shopper", "-e", f"MARIADB_PASSWORD={APP_PASSWORD}",
        # When both spellings are set the MARIADB_ one wins, as in the official image.
        "-e", "MYSQL_PASSWORD=not-this-one", "-e", "MARIADB_INITDB_SKIP_TZINFO=1",
        db_image,
    )  # fmt: skip
    assert wait_for_query(client, db, "shopper", APP_PASSWORD, "shop") == "1"
    sql(client, db, "shopper", APP_PASSWORD, "CREATE TABLE t (id INT)", "shop")
    rows = sql(client, db, "root", ROOT_PASSWORD, "SELECT COUNT(*) FROM mysql.time_zone_name")
    assert rows.stdout.strip() == "0", "MARIADB_INITDB_SKIP_TZINFO was ignored"


def test_mariadb_random_root_password(scratch, db_image):
    db = scratch.run("db", "-e", "MYSQL_RANDOM_ROOT_PASSWORD=yes", db_image)
    deadline = time.monotonic() + 60
    while "GENERATED ROOT PASSWORD" not in (logs := logs_of(db)):
        assert time.monotonic() < deadline, logs[-3000:]
        time.sleep(0.2)
    password = re.search(r"GENERATED ROOT PASSWORD: (\S+)", logs).group(1)
    assert wait_for_query(db, "127.0.0.1", "root", password, server=db) == "1"


def test_mariadb_refuses_to_start_without_root_password_option(scratch, db_image):
    db = scratch.run("db", "-e", "MYSQL_DATABASE=app", db_image)
    assert docker("wait", db, timeout=60).stdout.strip() != "0"
    logs = logs_of(db)
    assert "password option is not specified" in logs, logs[-2000:]


def test_python_image_has_python_pip_venv_and_trusts_the_host_cas(base_images):
    image = base_images["PYTHON_IMAGE"]
    script = r"""
set -e
python --version
pip --version
for v in PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE; do
    echo "$v=${!v:-}"; [ "$CHECK_CA" = 0 ] || test -s "${!v:-}"
done
python -m venv /tmp/venv
/tmp/venv/bin/pip install --quiet --no-deps iniconfig
/tmp/venv/bin/python -c 'import iniconfig; print("venv-ok")'
pip install --quiet --no-deps iniconfig 2>/dev/null
python -c 'import iniconfig; print("root-ok")'
"""
    # Only the stand-in promises the host's CA bundle; the public image has its own.
    stand_in = image.startswith("offline/")
    out = docker("run", "--rm", "-e", f"CHECK_CA={int(stand_in)}", image, "bash", "-c", script,
                 timeout=180).stdout  # fmt: skip
    assert re.search(r"^Python 3\.\d+", out, re.MULTILINE), out
    assert re.search(r"^pip \d+", out, re.MULTILINE), out
    assert "venv-ok" in out and "root-ok" in out, out
    if stand_in:
        for var in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            assert f"{var}=/etc/ssl/host-ca-certificates.crt" in out, out
