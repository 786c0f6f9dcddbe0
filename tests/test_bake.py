"""Bakes over the answers that change the output: structure, rendering, lint, compose, secrets."""

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import TEMPLATE_DIR, TEMPLATE_PROJECT_DIR, baked, compose_command, run, said

RENAMED = {
    "project_name": "Inventory Service",
    "project_slug": "inventory_api",
    "app_name": "items",
    "image_name": "registry.example.com/team/inventory-api",
}
# The defaults, each answer that changes the output on its own, then a few full combinations.
MATRIX = {
    "defaults": {},
    "mariadb": {"database": "mariadb"},
    "python-3.11": {"python_version": "3.11"},
    "gitlab": {"ci": "gitlab"},
    "no-ci": {"ci": "none"},
    "renamed": RENAMED,
    "mariadb-no-ci-renamed": {"database": "mariadb", "ci": "none", **RENAMED},
    "mysql-3.11-renamed": {"database": "mysql", "python_version": "3.11", **RENAMED},
}  # fmt: skip
# Copied verbatim (their braces are Ansible's and GitHub's, not cookiecutter's).
COPIED_WITHOUT_RENDER = ("ansible", ".github")
# Docker's own --format templates ({{ .Tag }}, {{ index ... }}, {{ join ... }}) are meant to stay.
UNRENDERED = re.compile(r"\{\{(?!\s*(\.|index |join ))|\{%|\{#|\bcookiecutter\.")
# A literal of 16+ token characters given to a password, a secret or a key; not the name of
# another variable, nor a visibly development-only placeholder (Django's "django-insecure-").
SECRET_LIKE = re.compile(
    r"(PASSWORD|SECRET_KEY|SECRET|TOKEN)[\"']?\s*[:=,]\s*([\"']?)"
    r"(?!django-insecure-)(?![A-Z][A-Z0-9_]*\b)[A-Za-z0-9_\-+/=]{16,}\2(?![\w(])"
)


@pytest.fixture(scope="module", params=list(MATRIX.values()), ids=list(MATRIX))
def bake(request, cookies_session):
    answers = {"ci": "github", **request.param}
    return answers, baked(cookies_session.bake(extra_context=request.param))


def test_layout_follows_todobackend(bake):
    answers, project = bake
    slug = answers.get("project_slug", "todobackend")
    app = answers.get("app_name", "todo")
    assert project.name == slug
    expected = [
        "Makefile", "README.md", ".dockerignore", ".gitignore",
        "docker/dev/Dockerfile", "docker/dev/docker-compose.yml",
        "docker/db/Dockerfile", "docker/agent/Dockerfile",
        "ansible/probe.yml", "ansible/action_plugins/mysql_probe.py", "scripts/test.sh",
        "src/manage.py", "src/requirements.txt", "src/requirements-test.txt",
        f"src/{slug}/settings/base.py", f"src/{slug}/settings/test.py",
        f"src/{slug}/settings/release.py", f"src/{slug}/urls.py", f"src/{slug}/wsgi.py",
        f"src/{app}/models.py", f"src/{app}/serializers.py", f"src/{app}/views.py",
        f"src/{app}/urls.py", f"src/{app}/migrations/0001_initial.py",
    ]  # fmt: skip
    assert [path for path in expected if not (project / path).is_file()] == []
    assert list((project / f"src/{app}/tests").glob("test_*.py"))
    assert (project / ".github/workflows/ci.yml").is_file() == (answers["ci"] == "github")
    assert (project / ".gitlab-ci.yml").is_file() == (answers["ci"] == "gitlab")


def test_everything_is_rendered_but_the_files_copied_verbatim(bake):
    _, project = bake
    leftovers = []
    for path in filter(Path.is_file, project.rglob("*")):
        relative = path.relative_to(project)
        if relative.parts[0] in COPIED_WITHOUT_RENDER:
            assert path.read_bytes() == (TEMPLATE_PROJECT_DIR / relative).read_bytes(), relative
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNRENDERED.search(line):
                leftovers.append(f"{relative}:{number}: {line.strip()}")
    assert leftovers == []


def test_ruff_is_clean_with_the_projects_own_config(bake):
    """What make lint checks, run on the host: lint rules and formatting."""
    _, project = bake
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)


def test_the_test_environment_shares_one_database_and_tags_images_per_build(bake):
    answers, project = bake
    # The model Compose resolves (extends, interpolation), for a build whose BUILD_ID is b1.
    shown = run(
        [*compose_command("v2").split(), "-f", "docker/dev/docker-compose.yml", "config"],
        project,
        env={**os.environ, "BUILD_ID": "b1", "IMAGE": "img", "DB_IMAGE": "mysql:9.7"},
    )
    services = yaml.safe_load(shown.stdout)["services"]
    assert set(services) == {"db", "agent", "test"}
    for name, service in services.items():
        # Side by side on one engine: nothing fixed that two runs would fight over.
        assert not {"container_name", "ports"} & set(service), name
        assert service["image"] == f"img-{'dev' if name == 'test' else name}:b1", name
        assert service["labels"] == {"application": answers.get("project_slug", "todobackend")}
    assert services["db"]["build"]["args"]["DB_IMAGE"] == "mysql:9.7"
    database = dict(services["test"]["environment"])
    database.pop("DJANGO_SETTINGS_MODULE")
    agent = services["agent"]["environment"]
    assert {key: agent[key] for key in database} == database
    assert database["MYSQL_HOST"] == "db" and database["MYSQL_USER"] != "root"
    assert services["test"]["depends_on"]["agent"]["condition"] == "service_completed_successfully"


def test_make_help_lists_the_workflow_in_order(bake):
    _, project = bake
    listed = re.findall(r"^  ([a-z-]+) ", run(["make", "help"], project).stdout, re.MULTILINE)
    assert listed[:11] == [
        "help", "build", "agent", "test", "release", "tag", "publish", "deploy", "undeploy",
        "clean", "clean-all",
    ]  # fmt: skip
    assert set(listed[11:]) == {"run", "manage", "makemigrations", "lint", "lock"}


def test_make_help_shows_the_settings_the_readme_lists_and_no_value_that_changes(
    default_project,
):
    helped, again = (run(["make", "help"], default_project).stdout for _ in range(2))
    assert helped == again and "BUILD_ID        (random, then kept in .env)" in helped
    shown = re.findall(r"^  ([A-Z_]+) ", helped, re.MULTILINE)
    readme = (default_project / "README.md").read_text()
    table = readme.partition("| setting | default |")[2].partition("\n\n")[0]
    rows = [re.findall(r"`([A-Z_]+)`", line.split("|")[1]) for line in table.splitlines()[2:]]
    assert [names[0] for names in rows if len(names) == 1] == shown
    # The one row of several: the development credentials, which make help does not print.
    assert [names for names in rows if len(names) > 1] == [
        ["MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "SECRET_KEY"]
    ]


# Checked before make needs an engine; an image that is nowhere is tested in the Docker layer.
@pytest.mark.parametrize(
    "setting, value, accepted",
    [
        ("BUILD_ID", "Feature/X", "lowercase letters, digits, - and _"),
        ("PROBE_TIMEOUT", "abc", "a whole number above 0"),
        ("PROBE_TIMEOUT", "0", "a whole number above 0"),
        ("COMPOSE", "podman compose", '"docker compose" (v2) or docker-compose (v1)'),
        ("PORT", "80000", "a number from 1 to 65535"),
        ("BUILD_CACHE", "registry.example.com/app/cache", 'COMPOSE="docker compose" (v2)'),
    ],
)
def test_a_bad_setting_is_refused_in_one_sentence_and_not_kept(cookies, setting, value, accepted):
    project = baked(cookies.bake())
    # Under Compose v1, which refuses BUILD_CACHE; every other check is the same under both.
    v1 = {**os.environ, "COMPOSE": "docker-compose"}
    refused = run(["make", "build", f"{setting}={value}"], project, env=v1, check=False)
    assert refused.returncode != 0 and len(said(refused)) == 1, refused.stderr
    assert said(refused)[0].startswith(f'{setting}="{value}" is not')
    assert accepted in said(refused)[0]
    assert not (project / ".env").exists()


def secrets_in(root, skipped=()):
    offenders = []
    for path in root.rglob("*"):
        if path.is_file() and not set(skipped) & set(path.relative_to(root).parts):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            offenders += [f"{path}: {found.group(0)}" for found in SECRET_LIKE.finditer(text)]
    return offenders


def test_no_secret_lives_in_a_tracked_file_of_a_bake(bake):
    assert secrets_in(bake[1]) == []


def test_no_secret_lives_in_the_template():
    assert secrets_in(TEMPLATE_DIR, {".git", ".venv", "build", "__pycache__", ".ruff_cache"}) == []


def test_bake_from_the_command_line(tmp_path):
    """The README's own command, with --no-input, gives a project."""
    command = ["cookiecutter", "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE_DIR)]
    completed = run([sys.executable, "-m", *command], tmp_path, timeout=120)
    assert "cd todobackend && make test" in completed.stdout
    assert (tmp_path / "todobackend/Makefile").is_file()


def test_the_template_code_is_lint_clean():
    own_code = ["hooks", "tests", "local_extensions.py", "bench"]
    run([sys.executable, "-m", "ruff", "check", "--no-cache", *own_code], TEMPLATE_DIR)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *own_code], TEMPLATE_DIR)
