"""Settings for the test suite: the base settings, tuned for speed."""

from .base import *
from .base import DATABASES

# Tests create users rarely, but a deliberately slow hasher would make them crawl.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # The app's DB user (never root) has rights only on its own database: tests reuse it.
    DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}
