"""Settings for deployed services: the base settings, hardened.

The deployment must provide SECRET_KEY and ALLOWED_HOSTS; the service refuses
to start without them rather than run with a development default.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import env_bool, env_list


def required_env(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"The {name} environment variable must be set for release settings."
        )
    return value


SECRET_KEY = required_env("SECRET_KEY")
ALLOWED_HOSTS = [
    host.strip() for host in required_env("ALLOWED_HOSTS").split(",") if host.strip()
]

DEBUG = False

# HTTPS only. Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER
# (e.g. "HTTP_X_FORWARDED_PROTO,https") so Django recognises secure requests;
# only an environment with no TLS at all (e.g. local acceptance tests) should
# turn SECURE_SSL_REDIRECT off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER", [])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None

SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))  # a year
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
