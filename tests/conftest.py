"""What every layer of the template's tests shares: where the template is, and how to bake it."""

import json
import subprocess
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
TEMPLATE_PROJECT_DIR = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
DEFAULT_ANSWERS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())


def baked(result):
    """The project folder of a successful bake; fails the test with cookiecutter's error if not."""
    assert result.exception is None, f"bake failed: {result.exception!r}"
    assert result.exit_code == 0
    return Path(result.project_path)


def run(command, cwd, env=None, timeout=600, check=True):
    """Run a command, capturing its output, and show that output when it fails."""
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and completed.returncode != 0:
        pytest.fail(
            f"{command} exited {completed.returncode} in {cwd}\n"
            f"--- stdout\n{completed.stdout[-6000:]}\n--- stderr\n{completed.stderr[-6000:]}"
        )
    return completed


@pytest.fixture(scope="session")
def default_project(cookies_session):
    """The project baked with every default answer, shared by the tests that only read it."""
    return baked(cookies_session.bake())
