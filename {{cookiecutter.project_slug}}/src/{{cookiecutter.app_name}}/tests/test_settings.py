"""Release settings: refuse to run unconfigured, read secrets from files, and pass Django's deploy
checks.

The release settings module is loaded in a subprocess, as Gunicorn and manage.py load it in the
image: a refusal exits the process, and Django's own settings here are never touched.
"""

import json
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
REQUIRED = list(DEPLOYMENT)
# Prints the settings a test asks about, as JSON, once the release settings have loaded.
SHOW = (
    "import json, sys, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({name: getattr(settings, name) for name in sys.argv[1:]}, default=str))"
)


def release(*arguments, **env):
    """Run Python with release settings and only the given deployment variables: nothing of this
    environment but what Python needs, and coverage's own variables, so that it measures them."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if name in ("PATH", "HOME") or name.startswith("COVERAGE_")
    }
    return subprocess.run(
        # From the project root, where the tests run: coverage records paths relative to it.
        [sys.executable, *arguments],
        cwd=settings.BASE_DIR.parent,
        env={**environ, **env, "PYTHONPATH": "src", "DJANGO_SETTINGS_MODULE": RELEASE_SETTINGS},
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded(*names, **env):
    """The named settings as the release settings load them with this environment."""
    result = release("-c", SHOW, *names, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(**env):
    """What the release settings say when they refuse to load: one line, and the exit status."""
    result = release("src/manage.py", "check", **env)
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_with_no_setting_at_all_one_sentence_names_every_missing_one():
    said = refusal()

    for name in REQUIRED:
        assert name in said
    assert said.startswith("The service cannot start:") and said.endswith(".")
    assert said.count(". ") == 0, "more than one sentence"


@pytest.mark.parametrize(
    "change, named",
    [
        ({"ALLOWED_HOSTS": ","}, "ALLOWED_HOSTS is not set"),
        ({"MYSQL_PASSWORD": ""}, "MYSQL_PASSWORD (or MYSQL_PASSWORD_FILE) is not set"),
        ({"CONN_MAX_AGE": "five minutes"}, "CONN_MAX_AGE='five minutes' is not a whole number"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS='-1' is not a whole number"),
        ({"SECURE_SSL_REDIRECT": "flase"}, "SECURE_SSL_REDIRECT='flase' is neither true nor"),
        ({"SECURE_PROXY_SSL_HEADER": "https"}, "SECURE_PROXY_SSL_HEADER='https' is not a header"),
        ({"SECRET_KEY_FILE": "/run/secrets/key"}, "SECRET_KEY and SECRET_KEY_FILE are both set"),
        ({"MYSQL_PASSWORD": "", "MYSQL_PASSWORD_FILE": "/no/such/file"}, "cannot be read"),
    ],
    ids=[
        "empty host list", "empty password", "connection age", "HSTS seconds", "flag typo",
        "proxy header", "both secret forms", "unreadable secret file",
    ],
)  # fmt: skip
def test_a_wrong_setting_is_named(change, named):
    said = refusal(**{**DEPLOYMENT, **change})

    assert named in said
    assert said.count(";") == 0, "only the wrong setting is named"


def test_several_problems_are_named_in_the_same_sentence():
    env = {**DEPLOYMENT, "CONN_MAX_AGE": "5m"}
    del env["MYSQL_HOST"], env["SECRET_KEY"]

    said = refusal(**env)

    assert "SECRET_KEY (or SECRET_KEY_FILE), MYSQL_HOST are not set; CONN_MAX_AGE='5m'" in said


def test_secrets_are_read_from_files_less_one_trailing_newline(tmp_path):
    key, password = get_random_secret_key(), " pass word "
    (tmp_path / "key").write_text(f"{key}\n")
    (tmp_path / "password").write_text(f"{password}\n\n")
    env = {name: value for name, value in DEPLOYMENT.items() if name not in REQUIRED[:1]}
    del env["MYSQL_PASSWORD"]

    settings_in_force = loaded(
        "SECRET_KEY",
        "DATABASES",
        **env,
        SECRET_KEY_FILE=str(tmp_path / "key"),
        MYSQL_PASSWORD_FILE=str(tmp_path / "password"),
    )

    assert settings_in_force["SECRET_KEY"] == key
    assert settings_in_force["DATABASES"]["default"]["PASSWORD"] == f"{password}\n"


def test_release_settings_load_with_a_deployment():
    settings_in_force = loaded("DEBUG", "ALLOWED_HOSTS", "DATABASES", **DEPLOYMENT)

    assert settings_in_force["DEBUG"] is False
    assert settings_in_force["ALLOWED_HOSTS"] == ["example.com"]
    database = settings_in_force["DATABASES"]["default"]
    assert (database["HOST"], database["PASSWORD"], database["CONN_MAX_AGE"]) == ("db", "x", 300)
    # Loaded beside this run's settings, not into them.
    assert settings.DATABASES["default"].get("CONN_MAX_AGE", 0) == 0


def test_release_settings_pass_the_deployment_checks():
    result = release("src/manage.py", "check", "--deploy", "--fail-level=WARNING", **DEPLOYMENT)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
