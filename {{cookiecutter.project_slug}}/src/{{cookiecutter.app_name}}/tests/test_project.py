"""Project-wide checks, run as tests so that they land in the reports with everything else.

A model change without its migration stops the whole run before any test (src/conftest.py).
"""

from django.core.management import call_command


def test_django_system_checks_pass():
    call_command("check", fail_level="WARNING")
