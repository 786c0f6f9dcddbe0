"""Settings shared by every environment.

Everything that differs between deployments is read from the environment, with
defaults that suit a developer's machine: with no environment at all the
service runs in debug mode on a local SQLite database. test.py and release.py
build on this module.
"""

import os
from pathlib import Path

# The src/ directory, which holds manage.py.
BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name, default):
    """Read a boolean flag such as DEBUG=false from the environment."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    """Read a comma-separated list such as ALLOWED_HOSTS from the environment."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


# A development-only placeholder, never a secret: release settings insist on a key from the
# environment instead.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-development-only-placeholder")

DEBUG = env_bool("DEBUG", True)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's assets, served by the service itself: no page of ours loads another host.
    "drf_spectacular_sidecar",
    "corsheaders",
    "{{ cookiecutter.app_name }}",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the static files (the browsable API's, /docs') from STATIC_ROOT: no web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Must come before CommonMiddleware, which can answer a request (with a
    # redirect) before CORS headers would otherwise be added.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"

WSGI_APPLICATION = "{{ cookiecutter.project_slug }}.wsgi.application"

# The templates are those of DRF's browsable API.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
            ],
        },
    },
]

if os.environ.get("MYSQL_HOST"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": os.environ["MYSQL_HOST"],
            "PORT": os.environ.get("MYSQL_PORT", "3306"),
            "NAME": os.environ.get("MYSQL_DATABASE", "{{ cookiecutter.project_slug }}"),
            "USER": os.environ.get("MYSQL_USER", "{{ cookiecutter.project_slug }}"),
            "PASSWORD": os.environ.get("MYSQL_PASSWORD", ""),
            # MySQL's legacy "utf8" cannot store 4-byte characters such as emoji.
            "OPTIONS": {"charset": "utf8mb4"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic gathers the browsable API's and /docs' assets here for the web server.
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
# Only the release image collects them (and turns DEBUG off): elsewhere WhiteNoise looks for
# them per request instead of warning that STATIC_ROOT does not exist.
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    # The Todo-Backend API is public by specification: no logins, and so no
    # session authentication that would demand CSRF tokens from API clients.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema at /schema and its Swagger UI page at /docs; API_DOCS=false turns both off
# for a deployment that must not show them.
API_DOCS = env_bool("API_DOCS", True)
SPECTACULAR_SETTINGS = {
    "TITLE": "{{ cookiecutter.project_name }}",
    "DESCRIPTION": "{{ cookiecutter.description }}",
    # The API's version for its clients, not the image's: raise it when the API changes.
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components (TodoRequest, Todo): a client generated from the
    # schema then neither sends read-only fields nor treats required ones as optional.
    "COMPONENT_SPLIT_REQUEST": True,
    # Clients send JSON; the form bodies the browsable API also accepts would only confuse
    # client generators (openapi-python-client keeps the last of three bodies: form-data).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# The Todo-Backend spec runner and clients call the API from pages served by
# other origins. The library's default headers and methods already cover the
# spec's needs (Content-Type; GET, POST, PATCH, PUT, DELETE).
CORS_ALLOW_ALL_ORIGINS = True

# Containers log to the console, where the platform collects the output.
# Without this, errors (500s included) go nowhere once DEBUG is off.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")


def without_traceback(record):
    """A client's mistake (a wrong Host, an oversized body) is said in its one line: a traceback
    of Django's own code would tell nothing more, and any client could flood the log with it."""
    record.exc_info = record.exc_text = None
    return True


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"without_traceback": {"()": lambda: without_traceback}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "client_errors": {"class": "logging.StreamHandler", "filters": ["without_traceback"]},
    },
    "loggers": {
        # Replaces Django's default handlers, which print only while DEBUG is on.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # SuspiciousOperation: requests refused with a 400, each logged in one line.
        "django.security": {"handlers": ["client_errors"], "level": LOG_LEVEL, "propagate": False},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
