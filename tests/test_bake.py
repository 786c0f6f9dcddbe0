"""Bakes over the answers that change the output: structure, rendering, lint, compose, options."""

import fcntl
import itertools
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.support import TEMPLATE_PROJECT_DIR, baked, run

DATABASE_IMAGES = {"mysql": "mysql:8.4", "mariadb": "mariadb:11.4"}
HEALTHCHECK_CLIENTS = {"mysql": "mysql", "mariadb": "mariadb"}
NAMINGS = [
    {},
    {
        "project_name": "Inventory Service",
        "project_slug": "inventory_api",
        "app_name": "items",
        "image_name": "registry.example.com/team/inventory-api",
    },
]
MATRIX = [
    {"database": database, "python_version": python, "use_github_actions": actions, **naming}
    for database, python, actions, naming in itertools.product(
        ["mysql", "mariadb"], ["3.12", "3.13", "3.11"], [True, False], NAMINGS
    )
]
# Copied verbatim (their braces are Ansible's and GitHub's, not cookiecutter's).
COPIED_WITHOUT_RENDER = ("ansible", ".github")
UNRENDERED = re.compile(r"\{\{|\{%|\{#|\bcookiecutter\.")


def matrix_id(answers):
    return "-".join(str(value) for value in answers.values())


def project_files(project):
    return [path for path in project.rglob("*") if path.is_file()]


@pytest.fixture(scope="module", params=MATRIX, ids=matrix_id)
def bake(request, cookies_session):
    answers = request.param
    return answers, baked(cookies_session.bake(extra_context=answers))


def test_layout_follows_todobackend(bake):
    answers, project = bake
    slug = answers.get("project_slug", "todobackend")
    app = answers.get("app_name", "todo")
    assert project.name == slug
    expected = [
        "Makefile",
        "README.md",
        ".dockerignore",
        "docker/dev/Dockerfile",
        "docker/dev/docker-compose.yml",
        "docker/agent/Dockerfile",
        "ansible/probe.yml",
        "scripts/test.sh",
        "src/manage.py",
        "src/requirements.txt",
        "src/requirements-test.txt",
        f"src/{slug}/settings/base.py",
        f"src/{slug}/settings/test.py",
        f"src/{slug}/settings/release.py",
        f"src/{slug}/urls.py",
        f"src/{slug}/wsgi.py",
        f"src/{app}/models.py",
        f"src/{app}/serializers.py",
        f"src/{app}/views.py",
        f"src/{app}/urls.py",
        f"src/{app}/migrations/0001_initial.py",
    ]
    missing = [path for path in expected if not (project / path).is_file()]
    assert missing == []
    assert list((project / f"src/{app}/tests").glob("test_*.py"))
    assert os.access(project / "scripts/test.sh", os.X_OK)


def test_everything_is_rendered(bake):
    _, project = bake
    leftovers = []
    for path in project_files(project):
        relative = path.relative_to(project)
        if relative.parts[0] in COPIED_WITHOUT_RENDER:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNRENDERED.search(line):
                leftovers.append(f"{relative}:{number}: {line.strip()}")
    assert leftovers == []


def test_copied_files_are_verbatim(bake):
    answers, project = bake
    for folder in COPIED_WITHOUT_RENDER:
        if folder == ".github" and not answers["use_github_actions"]:
            continue
        for source in (TEMPLATE_PROJECT_DIR / folder).rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                copy = project / source.relative_to(TEMPLATE_PROJECT_DIR)
                assert copy.read_bytes() == source.read_bytes(), copy


def test_secrets_are_filled_in(bake):
    _, project = bake
    placeholders = [
        str(path.relative_to(project))
        for path in project_files(project)
        if "__GENERATED_" in path.read_text(encoding="utf-8")
    ]
    assert placeholders == []


def test_ruff_is_clean(bake):
    _, project = bake
    run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", str(project)], project)


def test_shell_scripts_parse(bake):
    _, project = bake
    run(["bash", "-n", "scripts/test.sh"], project)


def test_compose_file_uses_the_specification_format(bake):
    answers, project = bake
    compose = yaml.safe_load((project / "docker/dev/docker-compose.yml").read_text())
    assert "version" not in compose
    services = compose["services"]
    assert set(services) == {"db", "agent", "test"}
    for name, service in services.items():
        for forbidden in ("links", "volumes_from", "container_name", "ports"):
            assert forbidden not in service, f"{name} has {forbidden}"
    database = answers["database"]
    assert services["db"]["image"] == f"${{DB_IMAGE:-{DATABASE_IMAGES[database]}}}"
    health = " ".join(services["db"]["healthcheck"]["test"])
    assert f"{HEALTHCHECK_CLIENTS[database]} --protocol=tcp -h 127.0.0.1" in health
    assert services["test"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["agent"]["depends_on"] == ["db"]
    python_image = f"${{PYTHON_IMAGE:-python:{answers['python_version']}-slim}}"
    for built in ("agent", "test"):
        assert services[built]["build"]["args"]["PYTHON_IMAGE"] == python_image
    image = answers.get("image_name", "todobackend")
    assert services["test"]["image"] == f"${{IMAGE:-{image}}}-dev:${{IMAGE_TAG:-latest}}"
    assert services["agent"]["image"] == f"${{IMAGE:-{image}}}-agent:${{IMAGE_TAG:-latest}}"
    # One set of credentials, shared by the database, the agent and the tests.
    credentials = {
        key: services["db"]["environment"][key]
        for key in ("MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD")
    }
    for user in ("agent", "test"):
        assert {key: services[user]["environment"][key] for key in credentials} == credentials
    assert credentials["MYSQL_USER"] != "root"


def test_github_actions_only_when_chosen(bake):
    answers, project = bake
    assert (project / ".github/workflows/test.yml").is_file() == answers["use_github_actions"]


def test_makefile_reads_as_a_recipe(bake):
    answers, project = bake
    slug = answers.get("project_slug", "todobackend")
    help_text = run(["make", "help"], project).stdout
    for target in ("build", "agent", "test", "clean"):
        assert re.search(rf"^  {target} +\S", help_text, re.MULTILINE), target
    dry_run = run(
        [
            "make",
            "-n",
            "test",
            "COMPOSE=docker-compose",
            "BUILD_ID=ci7",
            "PYTHON_IMAGE=py:x",
            "DB_IMAGE=db:y",
        ],
        project,
    ).stdout
    compose = f"docker-compose -p {slug}-dev-ci7 -f docker/dev/docker-compose.yml"
    assert f"{compose} build  agent test" in dry_run
    # The agent's verdict goes to the tests' stdin: they load while it probes.
    agent = f"{compose} run --no-deps agent"
    tests = f"{compose} run -T --no-deps -e WAIT_FOR_AGENT=1 "
    assert re.search(
        rf"\{{ {re.escape(agent)} >&3 && .*echo ready.*\}} \| {re.escape(tests)}", dry_run
    )


def test_make_test_into_a_locked_dev_null_does_not_hang(default_project):
    """GNU make before 4.4 locks its stdout to sync parallel output. A stdout of /dev/null that
    another process holds a lock on (dockerd does) hung `make test >/dev/null` for good; the
    sub-make's output now goes through a pipe of its own. Dry run: no Docker needed."""
    with open(os.devnull) as held:
        fcntl.lockf(held, fcntl.LOCK_SH | fcntl.LOCK_NB)  # a read lock, as dockerd's
        make = subprocess.Popen(
            ["make", "-n", "test", "COMPOSE=docker-compose"],
            cwd=default_project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = make.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, 9)
            make.communicate()
            pytest.fail("make -n test >/dev/null hung while /dev/null was locked")
    assert make.returncode == 0, stderr


def test_makefile_refuses_a_bad_build_id(default_project):
    refused = run(["make", "help", "BUILD_ID=Feature/X"], default_project, check=False)
    assert refused.returncode != 0
    assert 'BUILD_ID "Feature/X" is not valid' in refused.stderr


def test_every_bake_gets_fresh_secrets(cookies):
    def secrets_of(project):
        compose = yaml.safe_load((project / "docker/dev/docker-compose.yml").read_text())
        environment = compose["services"]["db"]["environment"]
        base = next(project.glob("src/*/settings/base.py")).read_text()
        secret_key = re.search(r'"SECRET_KEY",\s*"([^"]+)"', base).group(1)
        return secret_key, environment["MYSQL_PASSWORD"], environment["MYSQL_ROOT_PASSWORD"]

    first = secrets_of(baked(cookies.bake()))
    second = secrets_of(baked(cookies.bake()))
    for one, other in zip(first, second, strict=True):
        assert len(one) >= 32
        assert one != other
    assert len(set(first)) == 3


def test_no_secret_lives_in_the_template():
    # A literal of 16+ token characters assigned to a password or key (not a call, not a placeholder).
    secret_like = re.compile(
        r"(PASSWORD|SECRET_KEY)[\"']?\s*[:=,]\s*([\"']?)(?!__GENERATED_)[A-Za-z0-9_\-+/=]{16,}\2(?![\w(])"
    )
    offenders = []
    for path in TEMPLATE_PROJECT_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            offenders += [f"{path}: {m.group(0)}" for m in secret_like.finditer(path.read_text())]
    assert offenders == []


def test_bake_from_the_command_line(tmp_path):
    """The README's own command, with --no-input, gives a project."""
    cookiecutter = [sys.executable, "-m", "cookiecutter"]
    completed = subprocess.run(
        [*cookiecutter, "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE_PROJECT_DIR.parent)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "cd todobackend && make test" in completed.stdout
    assert (tmp_path / "todobackend/Makefile").is_file()


def test_the_template_code_is_lint_clean():
    own_code = ["hooks", "tests", "local_extensions.py", "bench", "offline-images"]
    present = [path for path in own_code if (TEMPLATE_PROJECT_DIR.parent / path).exists()]
    root = TEMPLATE_PROJECT_DIR.parent
    run([sys.executable, "-m", "ruff", "check", "--no-cache", *present], root)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *present], root)
