"""The release image as a deployment runs it, with plain docker run: one bake, after the README's
first-day change (a due_on field and its migration), which make release must pass.

Started with no settings it names them all in one sentence, without a traceback; against a real,
unmigrated database /ready answers 503 and the container is never healthy while /todos answers
500, until a `manage.py migrate` makes it ready and healthy; secrets come from files, as Docker
secrets do; errors are JSON, and a wrong Host is logged in one line.
"""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.support import commit_all, docker, explain, git, junit_totals, team_change

REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "MYSQL_HOST", "MYSQL_DATABASE", "MYSQL_USER")
HOST = "todos.example.com"
# What a TLS-terminating proxy in front says, so that the API answers instead of redirecting.
BEHIND_TLS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def released(new_module_project):
    """A bake with the first-day change committed, after its make release."""
    checkout = new_module_project()
    git(checkout.path, "init", "--quiet")
    commit_all(checkout.path, "Baked")
    team_change(checkout.path)
    serializers = checkout.path / "src/todo/serializers.py"
    serializers.write_text(serializers.read_text().replace('"order")', '"order", "due_on")'))
    commit_all(checkout.path, "A due date, in the API too")
    return checkout, checkout.make("release")


@pytest.fixture(scope="module")
def image(released):
    checkout = released[0]
    return f"{checkout.slug}:{checkout.build_id}"


def test_the_first_day_change_passes_make_release(released):
    checkout, completed = released
    assert completed.returncode == 0, explain(completed)
    totals, failed = junit_totals(checkout.path / "reports/acceptance.xml")
    assert failed == [] and totals["tests"] >= 10, totals


@pytest.mark.parametrize(
    "command", [[], ["python", "manage.py", "migrate"]], ids=["gunicorn", "migrate"]
)
def test_with_no_settings_one_sentence_names_them_all_and_it_exits(image, command):
    started = docker("run", "--rm", image, *command, check=False)

    assert started.returncode != 0
    assert started.stdout == ""
    [sentence] = started.stderr.splitlines()
    assert "Traceback" not in sentence
    for name in (*REQUIRED, "MYSQL_PASSWORD"):
        assert name in sentence


def call(port, path, method="GET", body=None, headers=None):
    """(status, JSON body or text) of a request to the app; HTTP errors are answers too."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def serving(port):
    try:
        return call(port, "/health")[0] == 200
    except OSError:
        return False


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def health(container):
    shown = docker("inspect", "--format", "{{json .State.Health}}", container).stdout
    return json.loads(shown)["Status"]


@pytest.fixture(scope="module")
def deployment(image, released, tmp_path_factory):
    """A network of its own, a fresh database (DB_IMAGE) and the app started from the image with
    the Docker-secret forms of its settings, before any migration; returns a function that runs a
    one-off container of the image there (as a migration job would), the app and its port."""
    checkout = released[0]
    label = f"application={checkout.slug}"
    name = f"{checkout.slug}-image-test"
    password = uuid.uuid4().hex
    secrets = tmp_path_factory.mktemp("secrets")
    secrets.chmod(0o755)
    for file, secret in (("key", "k" * 50), ("password", password)):
        (secrets / file).write_text(f"{secret}\n")
        (secrets / file).chmod(0o644)
    settings = {
        "SECRET_KEY_FILE": "/run/secrets/key",
        "MYSQL_PASSWORD_FILE": "/run/secrets/password",
        "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
        "MYSQL_HOST": f"{name}-db",
        "MYSQL_DATABASE": "todos",
        "MYSQL_USER": "todos",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    }
    options = ["--network", name, "--label", label, "--read-only", "--tmpfs", "/tmp"]
    options += ["--volume", f"{secrets}:/run/secrets:ro"]
    options += [option for item in settings.items() for option in ("--env", "=".join(item))]
    docker("network", "create", "--label", label, name)
    try:
        docker(
            "run", "--detach", "--name", f"{name}-db", "--network", name, "--label", label,
            "--env", "MYSQL_DATABASE=todos", "--env", "MYSQL_USER=todos",
            "--env", f"MYSQL_PASSWORD={password}", "--env", "MYSQL_ROOT_PASSWORD=root",
            checkout.setting("DB_IMAGE"),
        )  # fmt: skip
        # The image's HEALTHCHECK, asked every second instead of every 5 s.
        app = docker(
            "run", "--detach", "--name", name, "--health-interval", "1s",
            "--publish", "127.0.0.1::8000", *options, image,
        ).stdout.strip()  # fmt: skip
        port = docker("port", app, "8000").stdout.split(":")[-1].strip()
        deadline = time.monotonic() + 60
        while not serving(port):
            assert time.monotonic() < deadline, docker("logs", app).stderr[-3000:]
            time.sleep(0.2)

        def one_off(*command):
            return docker("run", "--rm", *options, image, *command, check=False)

        yield one_off, app, port
    finally:
        for container in (name, f"{name}-db"):
            docker("rm", "--force", "--volumes", container, check=False)
        docker("network", "rm", name, check=False)


def test_unmigrated_it_is_never_healthy_and_after_migrate_it_is(deployment, record_figure):
    one_off, app, port = deployment
    started = time.monotonic()
    seen, answered_at = [], None
    # Until the database has initialised and answers, then 5 s more.
    while not answered_at or time.monotonic() < answered_at + 5:
        assert time.monotonic() < started + 120, f"the database never answered: {seen[-3:]}"
        status, body = call(port, "/ready")
        todos, _ = call(port, "/todos", headers=BEHIND_TLS)
        seen.append((status, todos, health(app)))
        if answered_at is None and status == 503 and "migrations" in body["reason"]:
            answered_at = time.monotonic()
            unmigrated_reason = body["reason"]
        time.sleep(0.5)
    assert "todo.0001_initial" in unmigrated_reason and "todo.0002_todo_due_on" in unmigrated_reason
    assert 500 in {todos for _, todos, _ in seen}
    assert [state for _, _, state in seen if state == "healthy"] == []

    migrated = one_off("python", "manage.py", "migrate", "--no-input")
    assert migrated.returncode == 0, explain(migrated)

    assert call(port, "/ready") == (200, {"status": "ready"})
    migrated_at = time.monotonic()
    deadline = migrated_at + 30
    while (state := health(app)) != "healthy":
        assert time.monotonic() < deadline, f"not healthy 30 s after migrate: {state}"
        time.sleep(0.5)
    record_figure(
        f"release image on an unmigrated database: {len(seen)} probes, never healthy; healthy "
        f"{time.monotonic() - migrated_at:.1f} s after migrate (health checked every 1 s)"
    )
    assert call(port, "/todos", headers=BEHIND_TLS) == (200, [])


def test_plain_http_is_redirected_but_the_probes_are_not(deployment):
    port = deployment[2]
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(f"http://127.0.0.1:{port}/todos", timeout=10)

    assert redirected.value.code == 301
    assert redirected.value.headers["Location"].startswith("https://")
    assert call(port, "/health")[0] == 200
    assert call(port, "/ready")[0] in (200, 503)  # ready or not, as the tests' order has it


def test_errors_are_json_and_a_wrong_host_is_logged_in_one_line(deployment):
    _, app, port = deployment
    since = f"{time.time() - 0.5:.3f}"

    assert call(port, "/todos/abc", headers=BEHIND_TLS) == (404, {"detail": "Not found."})
    too_big = b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    headers = {**BEHIND_TLS, "Content-Type": "application/json"}
    assert call(port, "/todos", "POST", too_big, headers)[0] == 413
    status, body = call(port, "/todos", headers={**BEHIND_TLS, "Host": "attacker.example.com"})
    assert (status, set(body)) == (400, {"detail"})

    # What these requests logged (the unmigrated /todos' 500s were logged with tracebacks).
    logs = docker("logs", "--since", since, app)
    logged = (logs.stdout + logs.stderr).splitlines()
    assert [line for line in logged if "Traceback" in line] == []
    assert len([line for line in logged if "attacker.example.com" in line]) == 1, logged[-20:]
