"""One short message for each mistake that makes a whole test run pointless: checked once before
any test runs (each stops the run with a usage error), or said once at the end."""

import os
import traceback
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState


def pytest_sessionstart(session):
    check_the_code_imports()
    check_every_model_change_has_its_migration()


def check_the_code_imports():
    """A syntax or import error in the views, or anywhere the URLs import, would fail every
    API test with the same long traceback: name its file and line once instead. The first request
    would import the URLconf anyway, so this costs a green run nothing."""
    try:
        import_module(settings.ROOT_URLCONF)
    except Exception as error:  # noqa: BLE001 (whatever it is, every request would raise it)
        message = error.msg if isinstance(error, SyntaxError) else error
        raise pytest.UsageError(
            f"{where(error)}: {type(error).__name__}: {message}. The code does not import, so "
            "no test can run: fix it, then run the tests again."
        ) from None


def where(error):
    """The file and line at fault: a syntax error's own, else the last line of this project's
    code on the way to the import that failed."""
    if isinstance(error, SyntaxError):
        return f"{shown(error.filename)}:{error.lineno}"
    frames = traceback.extract_tb(error.__traceback__)
    frame = [frame for frame in frames if shown(frame.filename).startswith("src/")][-1]
    return f"{shown(frame.filename)}:{frame.lineno}"


def shown(filename):
    """A file as the checkout names it (src/todo/views.py), if it is one of the project's."""
    project = Path(settings.BASE_DIR).parent
    path = Path(filename).resolve()
    return str(path.relative_to(project)) if path.is_relative_to(project) else filename


def check_every_model_change_has_its_migration():
    """A model change without its migration would fail dozens of tests obscurely: say it once."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    changes = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps)).changes(
        graph=loader.graph
    )
    if changes:
        raise pytest.UsageError(
            f"The models of app {', '.join(sorted(changes))} have changes that no migration "
            "records: run `make makemigrations`, review the new file, then run the tests again."
        )


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus):
    """pytest's exit status 5: the arguments selected no test at all; said after the coverage."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        given = terminalreporter.config.invocation_params.args
        asked = os.environ.get("TEST_ARGS", " ".join(given))  # set by scripts/test.sh
        terminalreporter.write_line(
            f'No test matched ARGS="{asked}" (pytest exit status 5): check the -k or -m '
            "expression or the test path; make test without ARGS runs every test.",
            red=True,
        )
