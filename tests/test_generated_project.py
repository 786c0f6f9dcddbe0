"""The baked project's own tests (system and migration checks among them) on the host, on SQLite."""

import os
import sys

import pytest

from tests.support import DEFAULT_ANSWERS, baked, junit_totals, run

VARIANTS = [
    {},
    {"project_slug": "inventory_api", "app_name": "items", "database": "mariadb"},
]


@pytest.fixture(scope="module", params=VARIANTS, ids=["defaults", "renamed"])
def project(request, cookies_session):
    return baked(cookies_session.bake(extra_context=request.param))


def host_env():
    """The host's environment minus anything that would point the project at a database."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("MYSQL_", "DJANGO_"))
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_the_project_tests_pass_on_sqlite(project, tmp_path):
    junit = tmp_path / "unittests.xml"
    completed = run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", "-q"],
        project,
        env=host_env(),
    )
    totals, failed = junit_totals(junit)
    assert totals["tests"] > 0 and failed == [], completed.stdout


@pytest.mark.parametrize("python_version", DEFAULT_ANSWERS["python_version"])
def test_the_locks_install_with_their_hashes(default_project, tmp_path, python_version):
    """pip fetches every pinned file for each Python offered and checks its hash; nothing is
    installed."""
    for lock in ("src/requirements-test.txt", "docker/agent/requirements.txt"):
        run(
            [
                sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps",
                "--require-hashes", "--only-binary=:all:", f"--python-version={python_version}",
                "--target", str(tmp_path / "target"), "-r", lock,
            ],
            default_project,
        )  # fmt: skip
