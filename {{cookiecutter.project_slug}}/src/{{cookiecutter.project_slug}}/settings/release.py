"""Settings for deployed services: the base settings, hardened.

The deployment must provide SECRET_KEY and ALLOWED_HOSTS; the service refuses
to start without them rather than run with a development default.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import env_bool, env_list


def missing(name):
    return ImproperlyConfigured(
        f"The {name} environment variable must be set for release settings."
    )


SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    raise missing("SECRET_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise missing("ALLOWED_HOSTS")

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
