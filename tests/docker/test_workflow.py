"""What the workflow must show, on a real engine: runs side by side, of two runs of one checkout
started together one refused, settings kept in .env and beaten by the environment, a fresh
database every run, Ctrl-C and CI's cancel leave nothing behind, an image that is nowhere refused
before anything starts, a late database waited for, a dead one or wrong credentials reported
clearly, make clean and clean-all remove their own builds only, images that never run as root,
make lint leaves nothing behind (files that belong to whoever runs make: test_daily_loop.py).

Compose v2 throughout, and v1 too where users would meet a difference (the refusal, Ctrl-C).
"""

import concurrent.futures
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from tests.support import (
    LATE_DB_SECONDS,
    application_objects,
    docker,
    explain,
    ids,
    make,
    project_containers,
    settings_file,
    unique_build_id,
)

GENERATIONS = ["v2", "v1"]
EXTRA_TEST = '''

def test_only_in_the_second_checkout():
    assert True
'''
# Keeps a run's tests going long enough to interrupt them, or to start a second run beside them.
SLOW_TEST = '''
import time


def test_takes_its_time():
    time.sleep({seconds})
'''
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


class Background:
    """A make started in a session of its own (as a terminal's job), its output read as it comes."""

    def __init__(self, checkout, target, *arguments):
        self.process = subprocess.Popen(
            ["make", target, *arguments],
            cwd=checkout.path,
            env={**os.environ, **checkout.settings},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines = []
        self.reader = threading.Thread(target=self.lines.extend, args=(self.process.stdout,))
        self.reader.start()

    @property
    def output(self):
        return "".join(self.lines)

    def finish(self, timeout=600):
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        finally:
            self.reader.join(10)
        return self.process.returncode


def wait_until(condition, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(interval)


def running(container):
    shown = docker("container", "inspect", "--format", "{{.State.Running}}", container, check=False)
    return shown.stdout.strip() == "true"


def wait_for_the_tests(background, checkout, timeout=600):
    """Wait until make test's tests run: its step shown and its test container up."""
    wait_until(
        lambda: (
            "=> Running the tests" in background.output or background.process.poll() is not None
        ),
        timeout,
        "make test did not reach its tests",
    )
    wait_until(
        lambda: (
            running(f"{checkout.compose_project}-test") or background.process.poll() is not None
        ),
        60,
        "the test container did not start",
    )
    assert background.process.poll() is None, background.output[-5000:]


def build_images(checkout):
    """The images of this checkout's build: the project's images tagged with its BUILD_ID."""
    listing = docker(
        "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
        "--filter", f"label=application={checkout.slug}",
    )  # fmt: skip
    return sorted(i for i in listing.stdout.split() if i.endswith(f":{checkout.build_id}"))


# Side by side ---------------------------------------------------------------------------------


@pytest.mark.parametrize("build_ids", ["given", "per checkout"])
def test_two_checkouts_with_different_code_run_at_once(
    new_project, tmp_path, record_figure, build_ids
):
    """With BUILD_IDs given (as CI does), and without (each checkout's .env picks its own)."""
    first = new_project(build_id="unique" if build_ids == "given" else None)
    second = new_project.copy(
        first,
        tmp_path / "second",
        **({"BUILD_ID": unique_build_id()} if build_ids == "given" else {}),
    )
    add_test(second, "test_second_checkout", EXTRA_TEST)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda checkout: checkout.make("test"), [first, second]))
    record_figure(
        f"two checkouts' first make test at once (BUILD_ID {build_ids}): "
        f"{time.monotonic() - started:.1f} s for both"
    )
    first_totals, second_totals = (
        passed(r, c) for r, c in zip(results, [first, second], strict=True)
    )
    assert second_totals["tests"] == first_totals["tests"] + 1
    assert first.build_id != second.build_id


@pytest.mark.parametrize("generation", GENERATIONS)
def test_two_make_tests_started_together_one_runs_the_other_is_refused(
    new_project, record_figure, generation
):
    """Two terminals in one checkout, in the same second, three times: each time one runs all its
    tests and the other is refused with one sentence, without touching the first's containers."""
    checkout = new_project(generation)
    built = checkout.make("build")  # .env written, images built: the race is on the run itself
    assert built.returncode == 0, explain(built)
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
        said = [line for line in refused[0].stderr.splitlines() if "in progress" in line]
        assert len(said) == 1 and "BUILD_ID=" in said[0], explain(refused[0])
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
    built = second.make("build")
    assert built.returncode == 0, explain(built)
    completed = settings_file(second.path)
    assert completed["PROBE_TIMEOUT"] == "61" and completed.keys() == first.keys()
    for name in ("MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "SECRET_KEY", "BUILD_ID"):
        assert completed[name] != first[name], name
    for name in ("MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "SECRET_KEY"):
        assert len(completed[name]) >= 32, name
    assert ".env" in (second.path / ".gitignore").read_text().split()
    assert ".env" in (second.path / ".dockerignore").read_text().split()


def test_a_setting_in_the_environment_beats_env(built_project, record_figure):
    """The order Compose uses: the command line, then the environment, then .env, then defaults."""
    checkout = built_project
    kept = settings_file(checkout.path)
    environment = {**checkout.settings, "PROBE_TIMEOUT": "45", "DB_IMAGE": "registry.invalid/x:1"}
    refused = make(checkout.path, "build", environment)
    assert 'DB_IMAGE="registry.invalid/x:1" is neither' in refused.stderr, explain(refused)
    environment.pop("DB_IMAGE")
    started = make(checkout.path, "agent", environment)
    assert started.returncode == 0, explain(started)
    assert "at most 45 s" in started.stdout, explain(started)
    on_command_line = make(checkout.path, "agent", environment, "PROBE_TIMEOUT=50")
    assert "at most 50 s" in on_command_line.stdout, explain(on_command_line)
    assert settings_file(checkout.path) == kept


# A fresh database every run ----------------------------------------------------------------


@pytest.fixture(scope="module")
def built_project(new_module_project):
    """One default bake with its images built, for the tests that do not change its code."""
    checkout = new_module_project()
    built = checkout.make("build")
    assert built.returncode == 0, explain(built)
    return checkout


def manage(checkout, *command):
    """A manage.py command in the test image, against the database make agent left running."""
    return checkout.compose(
        "run", "--rm", "--no-deps", "--entrypoint", "python", "test", "manage.py", *command
    )


def test_a_row_left_in_the_database_does_not_change_the_next_run(built_project):
    checkout = built_project
    reference = passed(checkout.make("test"), checkout)
    started = checkout.make("agent")
    assert started.returncode == 0, explain(started)
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
    """A bake with a test that takes a minute and ignores Ctrl-C, built once per Compose generation."""
    checkout = new_module_project(request.param)
    add_test(checkout, "test_stubborn", STUBBORN_TEST)
    built = checkout.make("build")
    assert built.returncode == 0, explain(built)
    return checkout


@pytest.mark.parametrize("interruption", INTERRUPTIONS)
def test_an_interrupted_make_test_leaves_no_container(
    stubborn_project, record_figure, interruption
):
    checkout = stubborn_project
    generation = "v2" if checkout.settings["COMPOSE"] == "docker compose" else "v1"
    make = Background(checkout, "test")
    try:
        wait_for_the_tests(make, checkout)
        container = f"{checkout.compose_project}-test"

        def in_the_stubborn_test():
            marker = docker(
                "exec", container, "test", "-e", "/tmp/stubborn-test-started", check=False
            )
            return marker.returncode == 0 or make.process.poll() is not None

        wait_until(in_the_stubborn_test, 120, "the test that ignores Ctrl-C did not start")
        signalled = time.monotonic()
        INTERRUPTIONS[interruption](make.process)
        status = make.finish(timeout=120)
        exited_in = time.monotonic() - signalled
        wait_until(
            lambda: project_containers(checkout.compose_project) == [],
            30,
            f"containers of {checkout.compose_project} still there after {interruption}",
        )
        cleaned_in = time.monotonic() - signalled
    finally:
        if make.process.poll() is None:
            os.killpg(make.process.pid, signal.SIGKILL)
    record_figure(
        f"{interruption} during make test ({generation}): make exited {status} after "
        f"{exited_in:.1f} s, no container left after {cleaned_in:.1f} s"
    )
    assert status != 0, make.output[-5000:]
    # Well under Docker's default 10 s stop timeout: the test service's grace period cut it short.
    assert cleaned_in < 10, make.output[-5000:]


# Bad settings (those checked without an engine are in the fast layer, test_bake.py) -------


@pytest.mark.parametrize("setting", ["DB_IMAGE", "PYTHON_IMAGE"])
def test_an_image_that_is_nowhere_is_refused_before_anything_starts_and_not_kept(
    new_module_project, built_project, tmp_path, setting
):
    """A fresh checkout (a copy of a built one: the build is mostly cached) refuses the image on
    its first make, starts nothing, keeps nothing; the next make, without it, builds."""
    checkout = new_module_project.copy(
        built_project, tmp_path / "fresh", BUILD_ID=unique_build_id()
    )
    refused = checkout.make("build", f"{setting}=registry.invalid/nothing:1")
    said = [line for line in refused.stderr.splitlines() if not line.startswith("make: *")]
    assert refused.returncode != 0 and len(said) == 1, explain(refused)
    assert said[0].startswith(f'{setting}="registry.invalid/nothing:1" is neither'), said
    assert not (checkout.path / ".env").exists()
    assert project_containers(checkout.compose_project) == []
    built = checkout.make("build")
    assert built.returncode == 0, explain(built)


# Late, dead and wrongly addressed databases -------------------------------------------------


def test_a_late_database_is_waited_for(new_project, late_db_image, record_figure):
    checkout = new_project()
    checkout.settings["DB_IMAGE"] = late_db_image
    tested = checkout.make("test")
    passed(tested, checkout)
    answered = next(line for line in tested.stdout.splitlines() if "answered SELECT 1" in line)
    waited = float(re.search(r"after ([0-9.]+) s", answered).group(1))
    record_figure(
        f"database {LATE_DB_SECONDS} s late: the agent waited {waited:.1f} s, make test green"
    )
    assert waited >= LATE_DB_SECONDS - 5


def test_a_database_that_never_comes_up_fails_make_agent_after_the_timeout(
    new_project, never_ready_db_image, record_figure
):
    checkout = new_project()
    checkout.settings["DB_IMAGE"] = never_ready_db_image
    built = checkout.make("build")
    assert built.returncode == 0, explain(built)
    started = time.monotonic()
    failed = checkout.make("agent", "PROBE_TIMEOUT=20")
    elapsed = time.monotonic() - started
    record_figure(
        f"database never ready, PROBE_TIMEOUT=20: make agent failed after {elapsed:.1f} s"
    )
    assert failed.returncode != 0, explain(failed)
    assert 20 <= elapsed <= 35
    output = failed.stdout + failed.stderr
    for named in ("db:3306", checkout.slug, "last error"):
        assert named in output, explain(failed)


def test_wrong_credentials_fail_at_once(built_project, record_figure):
    checkout = built_project
    started = checkout.make("agent")
    assert started.returncode == 0, explain(started)
    begun = time.monotonic()
    wrong = checkout.compose("run", "--rm", "-e", "MYSQL_PASSWORD=wrong", "agent")
    elapsed = time.monotonic() - begun
    record_figure(f"wrong credentials: the agent failed after {elapsed:.1f} s")
    assert wrong.returncode != 0, explain(wrong)
    output = wrong.stdout + wrong.stderr
    assert "1045" in output and "password not accepted" in output, explain(wrong)
    assert elapsed < 10


# Clean-up ---------------------------------------------------------------------------------


def still_there(bystanders):
    listings = {
        "container": ["container", "inspect", bystanders["container"]],
        "volume": ["volume", "inspect", bystanders["volume"]],
        "network": ["network", "inspect", bystanders["network"]],
        "image": ["image", "inspect", bystanders["image"]],
    }
    return [
        kind for kind, listing in listings.items() if docker(*listing, check=False).returncode == 0
    ]


def test_make_clean_removes_its_build_only_and_clean_all_every_build(
    new_project, tmp_path, bystanders
):
    first = new_project()
    second = new_project.copy(first, tmp_path / "second", BUILD_ID=unique_build_id())
    for checkout in (first, second):
        started = checkout.make("agent")  # images built, the database left running
        assert started.returncode == 0, explain(started)
    second_containers = project_containers(second.compose_project)
    second_images = build_images(second)
    assert project_containers(first.compose_project) and second_containers
    assert build_images(first) and second_images

    cleaned = first.make("clean")
    assert cleaned.returncode == 0, explain(cleaned)
    assert project_containers(first.compose_project) == [] and build_images(first) == []
    assert project_containers(second.compose_project) == second_containers
    assert build_images(second) == second_images
    assert still_there(bystanders) == ["container", "volume", "network", "image"]

    cleaned_all = first.make("clean-all")
    assert cleaned_all.returncode == 0, explain(cleaned_all)
    left = {kind: found for kind, found in application_objects(first.slug).items() if found}
    assert left == {}
    assert still_there(bystanders) == ["container", "volume", "network", "image"]


# Users and images ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["dev", "agent"])
def test_the_images_run_as_a_non_root_user(built_project, role):
    image = f"{built_project.slug}-{role}:{built_project.build_id}"
    uid = docker("run", "--rm", "--entrypoint", "id", image, "-u").stdout.strip()
    assert uid.isdigit() and uid != "0", uid


def test_make_lint_checks_the_code_and_leaves_no_network(built_project):
    networks = ids("network", "ls", "--quiet")
    linted = built_project.make("lint")
    assert linted.returncode == 0, explain(linted)
    assert "All checks passed" in linted.stdout or "already formatted" in linted.stdout
    assert ids("network", "ls", "--quiet") == networks
