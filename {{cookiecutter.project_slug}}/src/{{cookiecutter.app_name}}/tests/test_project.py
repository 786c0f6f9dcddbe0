"""Project-wide checks, run as tests so that they land in the reports with everything else."""

import pytest
from django.core.management import call_command


def test_django_system_checks_pass():
    call_command("check", fail_level="WARNING")


@pytest.mark.django_db
def test_migrations_match_the_models():
    # Exits non-zero, failing this test, when a model change has no migration yet.
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)
