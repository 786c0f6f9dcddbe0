"""Settings for deployed services: the base settings, hardened.

Everything comes from the environment. The service refuses to start without
SECRET_KEY, ALLOWED_HOSTS and the database settings rather than run with a
development default.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import DATABASES, env_bool, env_list

# base.py reads them all, with development defaults that a deployment must not fall back to.
REQUIRED = [
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "MYSQL_HOST",
    "MYSQL_DATABASE",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
]
for name in REQUIRED:
    if not os.environ.get(name, "").strip(" ,"):
        raise ImproperlyConfigured(
            f"The {name} environment variable must be set for release settings."
        )

SECRET_KEY = os.environ["SECRET_KEY"].strip()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])

DEBUG = False
WHITENOISE_AUTOREFRESH = False

# Each Gunicorn worker keeps its connection instead of opening one per request: a new PyMySQL
# connection (TLS included) costs more than the request itself.
_conn_max_age = os.environ.get("CONN_MAX_AGE", "300").strip()
if not _conn_max_age.isdigit():
    raise ImproperlyConfigured(
        f"CONN_MAX_AGE={_conn_max_age!r} is not valid: give the seconds a database connection "
        "is kept, a whole number (0 closes it after each request)."
    )
DATABASES = {
    "default": {
        **DATABASES["default"],
        "CONN_MAX_AGE": int(_conn_max_age),
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
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# The image's HEALTHCHECK asks over plain HTTP from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER", [])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None

SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))  # a year
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
