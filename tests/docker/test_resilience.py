"""A workflow that never races, fails clearly, runs side by side and cleans up after itself."""

import concurrent.futures
import os
import pwd
import re
import shutil
import subprocess
import time

import pytest

from tests.docker.conftest import (
    bake_project,
    compose_command,
    engine_state,
    explain,
    junit_totals,
    make,
    project_containers,
    project_env,
    record_figure,
    unavailable,
    unique_build_id,
)

GENERATIONS = ["v2", "v1"]
AGENT_SUCCESS = re.compile(r"answered SELECT 1 as \w+ after ([0-9.]+) s")


def compose_in(project, env, *arguments, timeout=600):
    """The project's own compose command line, as its Makefile builds it."""
    command = [
        *env["COMPOSE"].split(), "-p", f"{project.name}-dev-{env['BUILD_ID']}",
        "-f", "docker/dev/docker-compose.yml", *arguments,
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def new_project(cookies, base_images):
    """Bake a default project with its own BUILD_ID; every project handed out is make-cleaned."""
    used = []

    def bake(generation="v2", **settings):
        project = bake_project(cookies)
        env = project_env(
            {**base_images, **settings}, compose_command(generation), unique_build_id()
        )
        used.append((project, env))
        return project, env

    yield bake
    for project, env in used:
        make(project, "clean", env)


# 1. No race, ever; 2. belt and braces ------------------------------------------------------


@pytest.mark.parametrize("generation", GENERATIONS)
def test_a_database_30_s_late_is_waited_for(new_project, late_db_image, generation):
    project, env = new_project(generation, DB_IMAGE=late_db_image)
    started = time.monotonic()
    result = make(project, "test", env)
    assert result.returncode == 0, explain(result)
    waited = float(AGENT_SUCCESS.search(result.stdout).group(1))
    record_figure(
        f"database 30 s late ({generation}): the agent waited {waited:.1f} s, make test green"
    )
    assert waited >= 25, f"the agent saw the database ready after {waited} s: it was not late"
    assert time.monotonic() - started >= 30
    totals, failed = junit_totals(project / "reports/unittests.xml")
    assert failed == [] and totals["tests"] >= 20


@pytest.mark.parametrize("generation", GENERATIONS)
def test_a_bare_compose_run_of_the_tests_waits_for_a_healthy_database(
    new_project, late_db_image, generation
):
    """No agent at all: the test service's depends_on service_healthy still prevents the race."""
    project, env = new_project(generation, DB_IMAGE=late_db_image)
    built = make(project, "build", env)
    assert built.returncode == 0, explain(built)
    bare = compose_in(project, env, "run", "--rm", "test")
    assert bare.returncode == 0, explain(bare)
    assert re.search(r"\b\d+ passed\b", bare.stdout), bare.stdout[-2000:]
    # The app is connected as its own user, never root.
    current_user = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SELECT CURRENT_USER()'); print(cursor.fetchone()[0])"
    )
    whoami = compose_in(project, env, "run", "--rm", "test", "python", "-c", current_user)
    assert whoami.returncode == 0, explain(whoami)
    assert whoami.stdout.strip().splitlines()[-1].startswith(f"{project.name}@")


# 3. Fails clearly --------------------------------------------------------------------------


@pytest.mark.parametrize("generation", GENERATIONS)
def test_a_database_that_never_comes_up_fails_soon_after_the_timeout(
    new_project, never_ready_db_image, generation
):
    project, env = new_project(generation, DB_IMAGE=never_ready_db_image, PROBE_TIMEOUT=20)
    assert make(project, "build", env).returncode == 0
    started = time.monotonic()
    result = make(project, "agent", env)
    elapsed = time.monotonic() - started
    record_figure(
        f"never-ready database, PROBE_TIMEOUT=20 ({generation}): make agent failed after {elapsed:.1f} s"
    )
    assert result.returncode != 0
    assert 20 <= elapsed <= 35, f"make agent took {elapsed:.1f} s with PROBE_TIMEOUT=20"
    output = result.stdout + result.stderr
    assert "TIMEOUT: db:3306/todobackend" in output, output[-3000:]
    assert "last error:" in output
    # The same through make test: the tests load alongside the agent, but none runs, and make
    # fails with the agent's own exit status.
    shutil.rmtree(project / "reports", ignore_errors=True)
    full = make(project, "test", env)
    assert full.returncode != 0, explain(full)
    assert "=> The agent failed (exit status 2): no test was run" in full.stderr, explain(full)
    assert "the agent did not report the database ready, so no test was run" in (
        full.stdout + full.stderr
    )
    assert not re.search(r"\b\d+ (passed|failed)\b", full.stdout), explain(full)
    assert not (project / "reports" / "unittests.xml").exists()


def test_wrong_credentials_are_reported_as_such(new_project):
    project, env = new_project()
    assert make(project, "agent", env).returncode == 0
    started = time.monotonic()
    wrong = compose_in(
        project, env, "run", "--rm", "-e", "MYSQL_PASSWORD=not-the-password", "agent"
    )
    elapsed = time.monotonic() - started
    assert wrong.returncode != 0
    output = wrong.stdout + wrong.stderr
    assert "AUTHENTICATION" in output and "todobackend" in output, output[-3000:]
    assert "TIMEOUT" not in output
    assert elapsed < 20, f"an authentication error took {elapsed:.1f} s to report"
    record_figure(
        f"wrong credentials: the agent failed with an authentication error after {elapsed:.1f} s"
    )


# 4. The exit status is always the truth ----------------------------------------------------

BROKEN_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{app}", "0001_initial")]
    operations = [migrations.RunSQL("THIS IS NOT SQL")]
"""
BREAKAGES = {
    "collection-error": (
        "src/{app}/tests/test_broken.py",
        "import module_that_does_not_exist  # noqa\n",
    ),
    "failed-migration": ("src/{app}/migrations/0002_broken.py", BROKEN_MIGRATION),
    "failed-build": ("docker/dev/Dockerfile", "RUN echo 'this build fails on purpose' && exit 3\n"),
}


@pytest.mark.parametrize("generation", GENERATIONS)
def test_every_kind_of_failure_makes_make_test_fail(new_project, generation):
    project, env = new_project(generation)
    app = "todo"
    assert make(project, "test", env).returncode == 0
    for breakage, (relative, text) in BREAKAGES.items():
        path = project / relative.format(app=app)
        original = path.read_text() if path.exists() else None
        path.write_text((original or "") + text.replace("{app}", app))
        shutil.rmtree(project / "reports", ignore_errors=True)
        try:
            result = make(project, "test", env)
        finally:
            if original is None:
                path.unlink()
            else:
                path.write_text(original)
        assert result.returncode != 0, f"{breakage}: make test exited 0\n{explain(result)}"
        if breakage == "failed-build":
            assert "=> Running tests" not in result.stdout
        else:
            # The tests ran and failed: their report is still copied out, showing the failure.
            totals, _ = junit_totals(project / "reports/unittests.xml")
            assert totals["errors"] + totals["failures"] >= 1, f"{breakage}: {totals}"
    assert make(project, "test", env).returncode == 0, "the project does not recover once repaired"


# 5. Side by side; 6. clean means clean -----------------------------------------------------


@pytest.fixture
def bystanders(base_images):
    """A container, volume, network and dangling image that belong to nobody's make clean."""
    name = f"bystander-{unique_build_id()}"
    subprocess.run(["docker", "network", "create", name], check=True, capture_output=True)
    subprocess.run(["docker", "volume", "create", name], check=True, capture_output=True)
    subprocess.run(
        ["docker", "create", "--name", name, "--network", name, "-v", f"{name}:/data", base_images["PYTHON_IMAGE"], "true"],
        check=True, capture_output=True,
    )  # fmt: skip
    built = subprocess.run(
        ["docker", "build", "--quiet", "--label", "application=todobackend-bystander", "-"],
        input=f"FROM {base_images['PYTHON_IMAGE']}\nRUN echo {name} > /bystander\n",
        text=True, capture_output=True, check=True,
    )  # fmt: skip
    dangling = built.stdout.strip()
    yield {"container": name, "volume": name, "network": name, "image": dangling}
    subprocess.run(["docker", "rm", "--force", name], capture_output=True)
    subprocess.run(["docker", "volume", "rm", name], capture_output=True)
    subprocess.run(["docker", "network", "rm", name], capture_output=True)
    subprocess.run(["docker", "rmi", "--force", dangling], capture_output=True)


def test_projects_and_builds_run_side_by_side_and_clean_separately(
    cookies, base_images, bystanders
):
    alpha = bake_project(cookies, project_name="Alpha Service")
    beta = bake_project(cookies, project_name="Beta Service")
    compose = compose_command("v2")
    runs = [
        (alpha, project_env(base_images, compose, unique_build_id())),
        (alpha, project_env(base_images, compose, unique_build_id())),
        (beta, project_env(base_images, compose, unique_build_id())),
    ]
    before = engine_state()
    try:
        # Build first so the parallel runs start together at the part that could collide.
        for project in (alpha, beta):
            assert make(project, "build", runs[0][1]).returncode == 0
        with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:
            results = list(pool.map(lambda run: make(run[0], "test", run[1]), runs))
        for result in results:
            assert result.returncode == 0, explain(result)
        names = [f"{project.name}-dev-{env['BUILD_ID']}" for project, env in runs]
        assert all(project_containers(name) for name in names)

        first_clean = make(runs[0][0], "clean", runs[0][1])
        assert first_clean.returncode == 0, explain(first_clean)
        assert project_containers(names[0]) == []
        assert project_containers(names[1]) and project_containers(names[2]), (
            "clean touched another project"
        )
    finally:
        for project, env in runs:
            make(project, "clean", env)
    assert engine_state() == before
    for kind in ("container", "volume", "network", "image"):
        listing = {"container": ["ps", "-a", "-q", "--filter", f"name={bystanders['container']}"],
                   "volume": ["volume", "ls", "-q", "--filter", f"name={bystanders['volume']}"],
                   "network": ["network", "ls", "-q", "--filter", f"name={bystanders['network']}"],
                   "image": ["image", "inspect", bystanders["image"]]}[kind]  # fmt: skip
        shown = subprocess.run(["docker", *listing], capture_output=True, text=True)
        assert shown.returncode == 0 and shown.stdout.strip(), (
            f"make clean removed a bystander {kind}"
        )


# 7. Files belong to the user ---------------------------------------------------------------

TESTER = "template-tester"


@pytest.fixture
def docker_group_user():
    if os.getuid() != 0:
        unavailable("creating a non-root user in the docker group needs root")
    if subprocess.run(["getent", "group", "docker"], capture_output=True).returncode != 0:
        unavailable("there is no docker group on this machine")
    subprocess.run(["userdel", "--remove", TESTER], capture_output=True)
    subprocess.run(["useradd", "--create-home", "--groups", "docker", TESTER], check=True)
    yield pwd.getpwnam(TESTER)
    subprocess.run(["userdel", "--remove", TESTER], capture_output=True)


def test_a_docker_group_user_gets_files_of_their_own(cookies, base_images, docker_group_user):
    baked = bake_project(cookies)
    project = os.path.join(docker_group_user.pw_dir, "todobackend")
    shutil.copytree(baked, project)
    subprocess.run(["chown", "-R", f"{TESTER}:{TESTER}", project], check=True)
    env = project_env(base_images, compose_command("v2"), unique_build_id())
    as_tester = ["runuser", "-u", TESTER, "--", "env", f"HOME={docker_group_user.pw_dir}",
                 f"PATH={os.environ['PATH']}", *[f"{key}={value}" for key, value in env.items()]]  # fmt: skip
    try:
        tested = subprocess.run(
            [*as_tester, "make", "test"], cwd=project, capture_output=True, text=True, timeout=900
        )
        assert tested.returncode == 0, explain(tested)
        not_theirs = [
            os.path.join(root, name)
            for root, dirs, files in os.walk(project)
            for name in dirs + files
            if os.stat(os.path.join(root, name)).st_uid != docker_group_user.pw_uid
        ]
        assert not_theirs == []
        assert sorted(os.listdir(os.path.join(project, "reports"))) == [
            "coverage.xml",
            "unittests.xml",
        ]
    finally:
        cleaned = subprocess.run(
            [*as_tester, "make", "clean"], cwd=project, capture_output=True, text=True, timeout=300
        )
    assert cleaned.returncode == 0, explain(cleaned)


@pytest.mark.parametrize("image_suffix", ["dev", "agent"])
def test_the_images_run_as_a_non_root_user(new_project, image_suffix):
    project, env = new_project()
    assert make(project, "build", env).returncode == 0
    uid = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "id", f"todobackend-{image_suffix}", "-u"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert uid != "0"
