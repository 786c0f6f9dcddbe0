"""Settings for deployed services: the base settings, hardened.

Everything comes from the environment, and each secret may come from a file instead
(SECRET_KEY_FILE, MYSQL_PASSWORD_FILE: the way Docker and Kubernetes secrets arrive). The service
refuses to start without SECRET_KEY, ALLOWED_HOSTS and the database settings rather than run with
a development default: every missing or invalid setting is named in one sentence, and the process
(Gunicorn, manage.py) exits with status 1 and no traceback.
"""

import os
import sys

from .base import *
from .base import DATABASES, env_list

# What is wrong, said all at once at the end: a deployment fixes everything in one go.
_missing, _problems = [], []
_true, _false = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def setting(name, secret=False):
    """NAME's value (stripped, unless a secret); for a secret, else the content of the file
    NAME_FILE names, less one trailing newline. Notes what is missing or wrong, and goes on."""
    value = os.environ.get(name, "") if secret else os.environ.get(name, "").strip()
    path = os.environ.get(f"{name}_FILE", "").strip() if secret else ""
    if value and path:
        _problems.append(f"{name} and {name}_FILE are both set (keep one)")
        return ""
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                value = file.read().removesuffix("\n")
        except (OSError, UnicodeError) as error:
            why = getattr(error, "strerror", None) or error
            _problems.append(f"{name}_FILE={path} cannot be read ({why})")
            return ""
    if not value.strip(" ,"):
        _missing.append(f"{name} (or {name}_FILE)" if secret else name)
    return value


def seconds(name, default):
    value = os.environ.get(name, "").strip() or default
    if not value.isdigit():
        _problems.append(f"{name}={value!r} is not a whole number of seconds")
        return int(default)
    return int(value)


def flag(name, default):
    """A boolean setting; a typo such as SECURE_SSL_REDIRECT=flase is an error, not False."""
    value = os.environ.get(name, "").strip().lower()
    if value in {"", *_true, *_false}:
        return default if not value else value in _true
    _problems.append(f"{name}={value!r} is neither true nor false")
    return default


# base.py reads these with development defaults that a deployment must not fall back to.
SECRET_KEY = setting("SECRET_KEY", secret=True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", []) if setting("ALLOWED_HOSTS") else []
_database = {name: setting(f"MYSQL_{name}") for name in ("HOST", "DATABASE", "USER")}
_database["PASSWORD"] = setting("MYSQL_PASSWORD", secret=True)

DEBUG = False
WHITENOISE_AUTOREFRESH = False

# Each Gunicorn worker keeps its connection instead of opening one per request: a new PyMySQL
# connection (TLS included) costs more than the request itself. 0 closes it after each request.
_conn_max_age = seconds("CONN_MAX_AGE", "300")
if _database["HOST"]:
    DATABASES = {
        "default": {
            **DATABASES["default"],
            "PASSWORD": _database["PASSWORD"],
            "CONN_MAX_AGE": _conn_max_age,
            "CONN_HEALTH_CHECKS": True,
        }
    }

# Collected into STATIC_ROOT when the image is built, with content-hashed names, so WhiteNoise
# serves them compressed and cacheable for ever.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Pages link only the hashed names (the static tag): the unhashed copies would double the image's
# share of static files (Swagger UI's alone are 6 MB).
WHITENOISE_KEEP_ONLY_HASHED_FILES = True

# HTTPS only. Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER
# (e.g. "HTTP_X_FORWARDED_PROTO,https") so Django recognises secure requests;
# only an environment with no TLS at all (e.g. local acceptance tests) should
# turn SECURE_SSL_REDIRECT off.
SECURE_SSL_REDIRECT = flag("SECURE_SSL_REDIRECT", True)
# The image's HEALTHCHECK and a platform's probes ask over plain HTTP, from inside.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER", [])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    _problems.append(
        f"SECURE_PROXY_SSL_HEADER={','.join(_proxy_ssl_header)!r} is not a header and its value, "
        "e.g. HTTP_X_FORWARDED_PROTO,https"
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if len(_proxy_ssl_header) == 2 else None

SECURE_HSTS_SECONDS = seconds("SECURE_HSTS_SECONDS", "31536000")  # a year
SECURE_HSTS_INCLUDE_SUBDOMAINS = flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = flag("SECURE_HSTS_PRELOAD", True)

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

if _missing:
    _problems.insert(0, f"{', '.join(_missing)} {'is' if len(_missing) == 1 else 'are'} not set")
if _problems:
    # SystemExit, not ImproperlyConfigured: Gunicorn and manage.py print it without a traceback.
    sys.exit(
        f"The service cannot start: {'; '.join(_problems)}: set or correct them in its "
        "environment (the README's Deploy section lists every setting)."
    )
