"""WSGI entry point, used by the application server in the release image."""

import os

from django.core.wsgi import get_wsgi_application

# A server started without an explicit choice gets the hardened settings, which
# refuse to start unless the deployment provides its secrets.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings.release")

application = get_wsgi_application()
