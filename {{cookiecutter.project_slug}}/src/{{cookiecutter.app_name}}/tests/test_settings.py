"""Release settings: refuse to run unconfigured, and pass Django's deploy checks.

A refusal happens while the settings module loads, so those cases load it here, in a namespace
of its own that Django never sees. The deploy checks need Django configured with the release
settings, so that case runs manage.py in a subprocess.
"""

import os
import runpy
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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


# What a deployment sets: release defaults apply, whatever this environment sets.
DEPLOYMENT_NAMES = {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "CONN_MAX_AGE"}
DEPLOYMENT_PREFIXES = ("SECURE_", "MYSQL_")


def is_deployment_variable(name):
    return name in DEPLOYMENT_NAMES or name.startswith(DEPLOYMENT_PREFIXES)


def load_release_settings(monkeypatch, **env):
    """Run the release settings module with only the given deployment variables."""
    for name in [name for name in os.environ if is_deployment_variable(name)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module(RELEASE_SETTINGS)


def manage(*args, **env):
    """Run manage.py with release settings and only the given deployment variables."""
    environ = {
        name: value for name, value in os.environ.items() if not is_deployment_variable(name)
    }
    return subprocess.run(
        # From the project root, where the tests run: coverage records paths relative to it.
        [sys.executable, "src/manage.py", *args],
        cwd=settings.BASE_DIR.parent,
        env={**environ, **env, "DJANGO_SETTINGS_MODULE": RELEASE_SETTINGS},
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
def test_release_settings_refuse_to_load_without(monkeypatch, missing, value):
    env = {name: given for name, given in DEPLOYMENT.items() if name != missing}
    if value is not None:
        env[missing] = value

    with pytest.raises(ImproperlyConfigured, match=f"The {missing} environment variable must"):
        load_release_settings(monkeypatch, **env)


def test_release_settings_pass_the_deployment_checks():
    result = manage("check", "--deploy", "--fail-level=WARNING", **DEPLOYMENT)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_release_settings_load_with_a_deployment(monkeypatch):
    loaded = load_release_settings(monkeypatch, **DEPLOYMENT)

    assert loaded["DEBUG"] is False
    assert loaded["ALLOWED_HOSTS"] == ["example.com"]
    assert loaded["DATABASES"]["default"]["CONN_MAX_AGE"] == 300
    # Loaded beside this run's settings, not into them.
    assert settings.DATABASES["default"].get("CONN_MAX_AGE", 0) == 0


def test_release_settings_refuse_a_connection_age_that_is_not_seconds(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE='five minutes' is not valid"):
        load_release_settings(monkeypatch, **DEPLOYMENT, CONN_MAX_AGE="five minutes")
