"""A newcomer's first day on a baked project, on a real engine, as an ordinary user.

Bake; add a field and its migration with make makemigrations (the file is the user's); make test
green; make run, then create, list, patch and delete through the printed URL, and Ctrl-C; a
subset of the tests through ARGS; settings kept in .env, with no variable on the command line.
"""

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid

import pytest

from tests.support import DB_IMAGES, DOCKER_GROUP_USER, PYTHON_IMAGES, explain, junit_totals

DUE_ON_TEST = '''

def test_a_todo_keeps_its_due_date(api_client, create_todo):
    url = create_todo(due_on="2026-12-24").json()["url"]
    assert api_client.get(url).json()["due_on"] == "2026-12-24"
'''


@pytest.fixture(scope="module")
def project(cookies_session, docker_group_user, base_images):
    """A default bake in the newcomer's home, with the images kept in its .env."""
    baked = cookies_session.bake()
    assert baked.exception is None, repr(baked.exception)
    path = os.path.join(docker_group_user.pw_dir, "todobackend")
    shutil.copytree(baked.project_path, path)
    with open(os.path.join(path, ".env"), "w") as settings:
        settings.write(f"PYTHON_IMAGE={PYTHON_IMAGES['3.11']}\nDB_IMAGE={DB_IMAGES['mysql']}\n")
    subprocess.run(["chown", "-R", f"{DOCKER_GROUP_USER}:{DOCKER_GROUP_USER}", path], check=True)
    yield path
    as_newcomer(path, "make", "clean")


def newcomers(*command):
    """A command line run as the docker-group user, with nothing from the test's environment but
    PATH."""
    home = pwd.getpwnam(DOCKER_GROUP_USER).pw_dir
    return [
        "runuser",
        "-u",
        DOCKER_GROUP_USER,
        "--",
        "env",
        "-i",
        f"HOME={home}",
        f"PATH={os.environ['PATH']}",
        *command,
    ]


def as_newcomer(cwd, *command):
    return subprocess.run(newcomers(*command), cwd=cwd, capture_output=True, text=True, timeout=900)


def build_id(project):
    with open(os.path.join(project, ".env")) as settings:
        return re.search(r"^BUILD_ID=(\S+)$", settings.read(), re.MULTILINE).group(1)


def test_settings_in_env_take_effect_without_command_line_variables(project):
    tested = as_newcomer(project, "make", "test")
    assert tested.returncode == 0, explain(tested)
    assert f"from {PYTHON_IMAGES['3.11']} and {DB_IMAGES['mysql']}" in tested.stdout
    # make completed .env with every setting; plain compose commands read it too.
    config = as_newcomer(project, "docker", "compose", "config", "--images")
    assert config.returncode == 0, explain(config)
    assert re.search(r"^todobackend-dev:\S+$", config.stdout, re.MULTILINE), config.stdout


def test_a_new_field_gets_its_migration_as_the_users_own_file(project, docker_group_user):
    app = os.path.join(project, "src/todo")
    models = os.path.join(app, "models.py")
    with open(models) as source:
        text = source.read()
    text = text.replace(
        "    order = ", "    due_on = models.DateField(null=True, blank=True)\n    order = "
    )
    with open(models, "w") as source:
        source.write(text)
    serializers = os.path.join(app, "serializers.py")
    with open(serializers) as source:
        text = source.read().replace('"order")', '"order", "due_on")')
    with open(serializers, "w") as source:
        source.write(text)
    with open(os.path.join(app, "tests/test_api.py"), "a") as tests:
        tests.write(DUE_ON_TEST)

    missing = as_newcomer(project, "make", "test")
    assert missing.returncode != 0
    said = [line for line in missing.stderr.splitlines() if "make makemigrations" in line]
    assert len(said) == 1 and "app todo" in said[0], explain(missing)
    assert not re.search(r"\d+ (passed|failed)", missing.stdout), "tests ran without the migration"

    made = as_newcomer(project, "make", "makemigrations")
    assert made.returncode == 0, explain(made)
    assert running_containers(f"todobackend-{build_id(project)}-run") == ""
    migration = os.path.join(app, "migrations/0002_todo_due_on.py")
    assert os.stat(migration).st_uid == docker_group_user.pw_uid
    tested = as_newcomer(project, "make", "test")
    assert tested.returncode == 0, explain(tested)
    totals, _ = junit_totals(os.path.join(project, "reports/unittests.xml"))
    assert totals["failures"] == totals["errors"] == 0
    assert sorted(os.listdir(os.path.join(project, "reports"))) == ["coverage.xml", "unittests.xml"]
    # The API's schema lists the new field with no work of its own.
    generated = as_newcomer(project, "make", "manage", "ARGS=spectacular --format openapi-json")
    assert generated.returncode == 0, explain(generated)
    # After make's own lines (one names the images as {db,agent,dev}), the document's first line.
    start = generated.stdout.index("\n{\n") + 1
    schema, _ = json.JSONDecoder().raw_decode(generated.stdout, start)
    assert "due_on" in schema["components"]["schemas"]["Todo"]["properties"]
    not_theirs = [
        os.path.join(root, name)
        for root, dirs, files in os.walk(project)
        for name in dirs + files
        if os.stat(os.path.join(root, name)).st_uid != docker_group_user.pw_uid
    ]
    assert not_theirs == []


def running_containers(compose_project):
    return subprocess.run(
        ["docker", "ps", "--quiet", "--filter", f"label=com.docker.compose.project={compose_project}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_make_manage_gets_the_superuser_settings(project):
    """createsuperuser --no-input reads DJANGO_SUPERUSER_*; then nothing it started runs on."""
    migrated = as_newcomer(project, "make", "manage", "ARGS=migrate")
    assert migrated.returncode == 0, explain(migrated)
    created = as_newcomer(
        project, "make", "manage", "ARGS=createsuperuser --no-input",
        "DJANGO_SUPERUSER_USERNAME=admin", "DJANGO_SUPERUSER_EMAIL=admin@example.com",
        f"DJANGO_SUPERUSER_PASSWORD={uuid.uuid4().hex}",
    )  # fmt: skip
    assert created.returncode == 0, explain(created)
    assert "Superuser created successfully" in created.stdout, explain(created)
    assert running_containers(f"todobackend-{build_id(project)}-run") == ""


def test_a_subset_of_the_tests(project):
    chosen = as_newcomer(project, "make", "test", "ARGS=-k cors")
    assert chosen.returncode == 0, explain(chosen)
    totals, _ = junit_totals(os.path.join(project, "reports/unittests.xml"))
    all_tests = as_newcomer(project, "make", "test")
    everything, _ = junit_totals(os.path.join(project, "reports/unittests.xml"))
    assert all_tests.returncode == 0
    assert 0 < totals["tests"] < everything["tests"]


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return response.status, json.loads(text) if text else None


def serve(project):
    """Start make run in its own process group; return it and the URL it prints."""
    server = subprocess.Popen(
        newcomers("make", "run"), cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    output = ""
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        output += line
        found = re.search(r"Serving the API on (http://\S+/todos)", line)
        if found:
            return server, found.group(1)
        if not line and server.poll() is not None:
            break
    server.kill()
    pytest.fail(f"make run printed no URL:\n{output[-4000:]}")


def answering(url, timeout=60):
    """The development server starts a moment after make run prints its URL."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call("GET", url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stop(server):
    os.killpg(server.pid, signal.SIGINT)
    server.wait(timeout=60)
    return server.returncode


def test_make_run_serves_the_api_and_keeps_its_data(project):
    server, url = serve(project)
    try:
        answering(url)
        status, created = call("POST", url, {"title": "walk the dog"})
        assert status == 201 and created["completed"] is False
        status, listed = call("GET", url)
        assert [todo["title"] for todo in listed] == ["walk the dog"]
        status, patched = call("PATCH", created["url"], {"completed": True})
        assert patched["completed"] is True
        status, _ = call("POST", url, {"title": "kept between runs"})
        status, _ = call("DELETE", created["url"])
        assert status == 204
        # make test never touches make run's database.
        assert as_newcomer(project, "make", "test").returncode == 0
        status, listed = call("GET", url)
        assert [todo["title"] for todo in listed] == ["kept between runs"]
    finally:
        stop(server)
    running = running_containers(f"todobackend-{build_id(project)}-run")
    assert running == "", "Ctrl-C left make run's containers running"

    server, second_url = serve(project)
    try:
        assert second_url == url, "make run moved to another port"
        _, listed = answering(url)
        assert [todo["title"] for todo in listed] == ["kept between runs"]
    finally:
        stop(server)
