"""Checks that make a whole test run pointless, done once before any test runs."""

import pytest
from django.apps import apps
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState


def pytest_sessionstart(session):
    """A model change without its migration would fail dozens of tests obscurely: say it once."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    changes = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps)).changes(
        graph=loader.graph
    )
    if changes:
        # A usage error: pytest prints it once, as one line, and runs nothing.
        raise pytest.UsageError(
            f"The models of app {', '.join(sorted(changes))} have changes that no migration "
            "records: run `make makemigrations`, review the new file, then run the tests again."
        )
