"""ASGI entry point, for serving the project with an ASGI server."""

import os

from django.core.asgi import get_asgi_application

# A server started without an explicit choice gets the hardened settings, which
# refuse to start unless the deployment provides its secrets.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings.release")

application = get_asgi_application()
