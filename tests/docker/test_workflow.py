"""What the workflow must show, on a real engine: runs side by side, of two runs of one checkout
started together one refused, settings kept in .env and beaten by the environment, a fresh
database every run, Ctrl-C and CI's cancel leave nothing behind, an image setting that cannot work
refused before anything starts, a late database waited for, a dead one or wrong credentials
reported clearly, make clean and clean-all remove their own builds only, images that never run as
root, make lint leaves nothing behind.

Compose v2 throughout, and v1 too where users would meet a difference (the refusal, Ctrl-C).
"""

import concurrent.futures
import os
import re
import signal
import subprocess
import time

import pytest

from tests.support import (
    DEFAULT_ANSWERS,
    LATE_DB_SECONDS,
    PYTHON_IMAGES,
    application_objects,
    docker,
    explain,
    ids,
    make,
    project_containers,
    said,
    settings_file,
    unique_build_id,
)

GENERATIONS = ["v2", "v1"]
# Its image is on the engine: Projects provides a bake's default images.
DEFAULT_PYTHON = DEFAULT_ANSWERS["python_version"][0]
EXTRA_TEST = "\n\ndef test_only_in_the_second_checkout():\n    assert True\n"
# Runs on through Ctrl-C, as a test stuck in code that ignores SIGINT would: the worst case.
STUBBORN_TEST = '''
import pathlib
import signal
import time


def test_ignores_ctrl_c():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pathlib.Path("/tmp/stubborn-test-started").touch()
    time.sleep(60)
'''
NEW_FIELD_MIGRATION = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("todo", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="todo", name="{field}", field=models.IntegerField(default=0)
        ),
    ]
'''


def add_test(checkout, name, text):
    (checkout.path / "src" / "todo" / "tests" / f"{name}.py").write_text(text)


def passed(result, checkout):
    """The JUnit totals of a make test that must have been green."""
    assert result.returncode == 0, explain(result)
    totals, failed = checkout.report()
    assert failed == [] and totals["failures"] == totals["errors"] == 0, totals
    return totals


def made(checkout, target="build"):
    """The result of a make that must succeed."""
    result = checkout.make(target)
    assert result.returncode == 0, explain(result)
    return result


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def built_project(new_module_project):
    """One default bake with its images built, for the tests that do not change its code."""
    checkout = new_module_project()
    made(checkout)
    return checkout


# Side by side ---------------------------------------------------------------------------------


def test_two_checkouts_with_different_code_run_at_once(new_project, tmp_path, record_figure):
    """No BUILD_ID given: each checkout's first make picks its own and keeps it in .env."""
    first = new_project(build_id=None)
    second = new_project.copy(first, tmp_path / "second")
    add_test(second, "test_second_checkout", EXTRA_TEST)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda checkout: checkout.make("test"), [first, second]))
    record_figure(f"two checkouts' first make test at once: {time.monotonic() - started:.1f} s")
    assert passed(results[1], second)["tests"] == passed(results[0], first)["tests"] + 1
    assert first.build_id != second.build_id


@pytest.mark.parametrize("generation", GENERATIONS)
def test_two_make_tests_started_together_one_runs_the_other_is_refused(
    new_project, record_figure, generation
):
    """Two terminals in one checkout, in the same second, three times: each time one runs all its
    tests and the other is refused with one sentence, without touching the first's containers."""
    checkout = new_project(generation)
    made(checkout)  # .env written, images built: the race is on the run itself
    for _ in range(3):
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: checkout.make("test"), range(2)))
        record_figure(
            f"two make tests of one checkout at once ({generation}): exit "
            f"{[result.returncode for result in results]} after {time.monotonic() - started:.1f} s"
        )
        refused = [result for result in results if result.returncode != 0]
        assert len(refused) == 1, [explain(result) for result in results]
        # Compose v1 prints its build's progress even when quiet: the refusal is one line of it.
        refusal = [line for line in refused[0].stderr.splitlines() if "in progress" in line]
        assert len(refusal) == 1 and "BUILD_ID=" in refusal[0], explain(refused[0])
        totals = passed(next(result for result in results if result.returncode == 0), checkout)
        assert totals["tests"] >= 20 and totals["skipped"] == 0


def test_each_checkout_keeps_fresh_credentials_in_an_ignored_env_file(
    new_module_project, built_project, tmp_path
):
    """Its first make writes them; a .env the developer wrote is completed, never changed."""
    first = settings_file(built_project.path)
    second = new_module_project.copy(built_project, tmp_path / "second")
    second.settings.pop("BUILD_ID")
    (second.path / ".env").write_text("PROBE_TIMEOUT=61")  # no final newline
    made(second)
    completed = settings_file(second.path)
    assert completed["PROBE_TIMEOUT"] == "61" and completed.keys() == first.keys()
    for name in ("MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "SECRET_KEY", "BUILD_ID"):
        assert completed[name] != first[name], name
        assert name == "BUILD_ID" or len(completed[name]) >= 32, name
    assert ".env" in (second.path / ".gitignore").read_text().split()
    assert ".env" in (second.path / ".dockerignore").read_text().split()


def test_a_setting_in_the_environment_beats_env(built_project):
    """The order Compose uses: the command line, then the environment, then .env, then defaults."""
    checkout, kept = built_project, settings_file(built_project.path)
    environment = {**checkout.settings, "PROBE_TIMEOUT": "45"}
    started = make(checkout.path, "agent", environment)
    assert "at most 45 s" in started.stdout and started.returncode == 0, explain(started)
    on_command_line = make(checkout.path, "agent", environment, "PROBE_TIMEOUT=50")
    assert "at most 50 s" in on_command_line.stdout, explain(on_command_line)
    assert settings_file(checkout.path) == kept


# A fresh database every run ----------------------------------------------------------------


def manage(checkout, *command):
    """A manage.py command in the test image, against the database make agent left running."""
    return checkout.compose(
        "run", "--rm", "--no-deps", "--entrypoint", "python", "test", "manage.py", *command
    )


def test_a_row_left_in_the_database_does_not_change_the_next_run(built_project):
    checkout = built_project
    reference = passed(checkout.make("test"), checkout)
    made(checkout, "agent")
    migrated = manage(checkout, "migrate")
    assert migrated.returncode == 0, explain(migrated)
    insert = "from todo.models import Todo; Todo.objects.create(title='left over'); print(Todo.objects.count())"
    inserted = manage(checkout, "shell", "-c", insert)
    assert inserted.returncode == 0 and inserted.stdout.split()[-1] == "1", explain(inserted)

    assert passed(checkout.make("test"), checkout) == reference


def test_a_migration_edited_in_place_runs_green_next_time(new_project):
    """With a database kept between runs this failed with "Unknown column"."""
    checkout = new_project()
    models = checkout.path / "src" / "todo" / "models.py"
    migration = checkout.path / "src" / "todo" / "migrations" / "0002_todo_extra_field.py"
    original = models.read_text()
    for field in ("priority", "urgency"):
        models.write_text(original + f"    {field} = models.IntegerField(default=0)\n")
        migration.write_text(NEW_FIELD_MIGRATION.format(field=field))
        passed(checkout.make("test"), checkout)


# Ctrl-C and CI's cancel -------------------------------------------------------------------

INTERRUPTIONS = {
    "Ctrl-C": lambda make: os.killpg(make.pid, signal.SIGINT),
    "SIGTERM to make": lambda make: os.kill(make.pid, signal.SIGTERM),
}


@pytest.fixture(scope="module", params=GENERATIONS)
def stubborn_project(request, new_module_project):
    """A bake with a test that takes a minute and ignores Ctrl-C, built once per generation."""
    checkout = new_module_project(request.param)
    add_test(checkout, "test_stubborn", STUBBORN_TEST)
    made(checkout)
    return checkout


@pytest.mark.parametrize("interruption", INTERRUPTIONS)
def test_an_interrupted_make_test_leaves_no_container(
    stubborn_project, record_figure, interruption
):
    checkout, log = stubborn_project, stubborn_project.path / "interrupted.log"
    with log.open("w") as output:  # in a session of its own, as a terminal's job
        process = subprocess.Popen(
            ["make", "test"], cwd=checkout.path, env={**os.environ, **checkout.settings},
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    container = f"{checkout.compose_project}-test"

    def in_the_stubborn_test():
        started = docker("exec", container, "test", "-e", "/tmp/stubborn-test-started", check=False)
        return started.returncode == 0 or process.poll() is not None

    try:
        wait_until(in_the_stubborn_test, 600, "the test that ignores Ctrl-C did not start")
        assert process.poll() is None, log.read_text()[-5000:]
        signalled = time.monotonic()
        INTERRUPTIONS[interruption](process)
        status = process.wait(timeout=120)
        exited_in = time.monotonic() - signalled
        wait_until(
            lambda: project_containers(checkout.compose_project) == [],
            30,
            f"containers of {checkout.compose_project} still there after {interruption}",
        )
        cleaned_in = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    record_figure(
        f"{interruption} during make test ({checkout.settings['COMPOSE']}): make exited {status} "
        f"after {exited_in:.1f} s, no container left after {cleaned_in:.1f} s"
    )
    # Well under Docker's default 10 s stop timeout: the test service's grace period cut it short.
    assert status != 0 and cleaned_in < 10, log.read_text()[-5000:]


# Bad image settings (those checked without an engine are in the fast layer, test_bake.py) ------


@pytest.mark.parametrize(
    "setting, value, refusal",
    [
        *((name, "registry.invalid/x:1", "is neither on this engine nor in a registry")
          for name in ("DB_IMAGE", "PYTHON_IMAGE")),
        ("DB_IMAGE", PYTHON_IMAGES[DEFAULT_PYTHON], "is not a MySQL or MariaDB server image"),
    ],
)  # fmt: skip
def test_a_bad_image_is_refused_in_one_sentence_before_anything_starts_and_not_kept(
    new_module_project, built_project, tmp_path, setting, value, refusal
):
    """On a fresh checkout's first make (a copy of a built one: its build is mostly cached); the
    next make, without it, builds."""
    checkout = new_module_project.copy(
        built_project, tmp_path / "fresh", BUILD_ID=unique_build_id()
    )
    refused = checkout.make("build", f"{setting}={value}")
    assert refused.returncode != 0 and len(said(refused)) == 1, explain(refused)
    assert said(refused)[0].startswith(f'{setting}="{value}" {refusal}'), explain(refused)
    assert not (checkout.path / ".env").exists()
    assert project_containers(checkout.compose_project) == []
    made(checkout)


# Late, dead and wrongly addressed databases -------------------------------------------------


def test_a_late_database_is_waited_for(new_project, late_db_image, record_figure):
    checkout = new_project()
    checkout.settings["DB_IMAGE"] = late_db_image
    tested = checkout.make("test")
    passed(tested, checkout)
    waited = float(re.search(r"answered SELECT 1.* after ([0-9.]+) s", tested.stdout).group(1))
    record_figure(
        f"database {LATE_DB_SECONDS} s late: the agent waited {waited:.1f} s, make test green"
    )
    assert waited >= LATE_DB_SECONDS - 5


def test_a_database_that_never_comes_up_fails_make_agent_after_the_timeout(
    new_project, never_ready_db_image, record_figure
):
    checkout = new_project()
    checkout.settings["DB_IMAGE"] = never_ready_db_image
    made(checkout)
    started = time.monotonic()
    failed = checkout.make("agent", "PROBE_TIMEOUT=20")
    elapsed = time.monotonic() - started
    record_figure(
        f"database never ready, PROBE_TIMEOUT=20: make agent failed after {elapsed:.1f} s"
    )
    assert failed.returncode != 0 and 20 <= elapsed <= 35, explain(failed)
    for named in ("db:3306", checkout.slug, "last error"):
        assert named in failed.stdout + failed.stderr, explain(failed)


def test_wrong_credentials_fail_at_once(built_project, record_figure):
    checkout = built_project
    made(checkout, "agent")
    begun = time.monotonic()
    wrong = checkout.compose("run", "--rm", "-e", "MYSQL_PASSWORD=wrong", "agent")
    elapsed = time.monotonic() - begun
    record_figure(f"wrong credentials: the agent failed after {elapsed:.1f} s")
    assert wrong.returncode != 0 and elapsed < 10, explain(wrong)
    output = wrong.stdout + wrong.stderr
    assert "1045" in output and "password not accepted" in output, explain(wrong)


# Clean-up ---------------------------------------------------------------------------------


@pytest.fixture
def bystanders(built_project):
    """A container, volume, network and image of nobody's, which no make clean may touch."""
    name = f"bystander-{unique_build_id()}"
    base = built_project.setting("PYTHON_IMAGE")
    docker("network", "create", name)
    docker("volume", "create", name)
    docker("create", "--name", name, "--network", name, "--volume", f"{name}:/data", base, "true")
    image = subprocess.run(
        ["docker", "build", "--quiet", "--label", "application=bystander", "-"],
        input=f"FROM {base}\nRUN echo {name} >/bystander\n",
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    yield [("container", name), ("volume", name), ("network", name), ("image", image)]
    docker("rm", "--force", name, check=False)
    docker("volume", "rm", name, check=False)
    docker("network", "rm", name, check=False)
    docker("image", "rm", "--force", image, check=False)


def still_there(bystanders):
    return all(
        docker(kind, "inspect", name, check=False).returncode == 0 for kind, name in bystanders
    )


def build_images(checkout):
    """The images of this checkout's build: the project's images tagged with its BUILD_ID."""
    listing = docker(
        "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
        "--filter", f"label=application={checkout.slug}",
    )  # fmt: skip
    return sorted(i for i in listing.stdout.split() if i.endswith(f":{checkout.build_id}"))


def test_make_clean_removes_its_build_only_and_clean_all_every_build(
    new_project, tmp_path, bystanders
):
    first = new_project()
    second = new_project.copy(first, tmp_path / "second", BUILD_ID=unique_build_id())
    for checkout in (first, second):
        made(checkout, "agent")  # images built, the database left running
    second_containers, second_images = (
        project_containers(second.compose_project),
        build_images(second),
    )
    assert project_containers(first.compose_project) and second_containers
    assert build_images(first) and second_images

    made(first, "clean")
    assert project_containers(first.compose_project) == [] and build_images(first) == []
    assert project_containers(second.compose_project) == second_containers
    assert build_images(second) == second_images
    assert still_there(bystanders)

    made(first, "clean-all")
    assert {kind: found for kind, found in application_objects(first.slug).items() if found} == {}
    assert still_there(bystanders)


# Users and images ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["dev", "agent"])
def test_the_images_run_as_a_non_root_user(built_project, role):
    image = f"{built_project.slug}-{role}:{built_project.build_id}"
    uid = docker("run", "--rm", "--entrypoint", "id", image, "-u").stdout.strip()
    assert uid.isdigit() and uid != "0", uid


def test_make_lint_checks_the_code_and_leaves_no_network(built_project):
    networks = ids("network", "ls", "--quiet")
    linted = made(built_project, "lint")
    assert "All checks passed" in linted.stdout or "already formatted" in linted.stdout
    assert ids("network", "ls", "--quiet") == networks
