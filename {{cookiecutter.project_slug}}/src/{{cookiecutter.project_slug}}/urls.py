"""URL configuration: the todo API is served from the site root."""

from django.http import HttpResponse
from django.urls import include, path


def health(request):
    """Answers as soon as the app serves requests: the release image's HEALTHCHECK asks it."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("health", health),
    path("", include("{{ cookiecutter.app_name }}.urls")),
]
