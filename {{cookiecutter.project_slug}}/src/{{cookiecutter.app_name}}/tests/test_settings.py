"""Release settings: refuse to run unconfigured, and pass Django's deploy checks.

Each case runs manage.py in a subprocess, so that loading other settings
cannot disturb the settings of this test run.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management.utils import get_random_secret_key

RELEASE_SETTINGS = settings.SETTINGS_MODULE.rsplit(".", 1)[0] + ".release"
# What a deployment provides; the database is never connected to, so any values do.
DEPLOYMENT = {
    "SECRET_KEY": get_random_secret_key(),  # long and random enough for the deployment checks
    "ALLOWED_HOSTS": "example.com",
    "MYSQL_HOST": "db",
    "MYSQL_DATABASE": "app",
    "MYSQL_USER": "app",
    "MYSQL_PASSWORD": "x",
}


def manage(*args, **env):
    """Run manage.py with release settings and only the given deployment variables."""
    environ = {
        name: value
        for name, value in os.environ.items()
        # Start from release defaults, whatever this environment overrides.
        if name not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}
        and not name.startswith(("SECURE_", "MYSQL_"))
    }
    environ.update(env, DJANGO_SETTINGS_MODULE=RELEASE_SETTINGS)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environ,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "missing, value",
    [
        ("SECRET_KEY", None),
        ("ALLOWED_HOSTS", None),
        ("ALLOWED_HOSTS", ","),
        ("MYSQL_HOST", None),
        ("MYSQL_PASSWORD", ""),
    ],
    ids=["no SECRET_KEY", "no ALLOWED_HOSTS", "empty list", "no database", "empty password"],
)
def test_release_settings_refuse_to_load_without(missing, value):
    env = {name: given for name, given in DEPLOYMENT.items() if name != missing}
    if value is not None:
        env[missing] = value

    result = manage("check", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"The {missing} environment variable must be set" in result.stderr


def test_release_settings_pass_the_deployment_checks():
    result = manage("check", "--deploy", "--fail-level=WARNING", **DEPLOYMENT)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_release_settings_refuse_a_connection_age_that_is_not_seconds():
    result = manage("check", **DEPLOYMENT, CONN_MAX_AGE="five minutes")

    assert result.returncode != 0
    assert "CONN_MAX_AGE='five minutes' is not valid" in result.stderr
