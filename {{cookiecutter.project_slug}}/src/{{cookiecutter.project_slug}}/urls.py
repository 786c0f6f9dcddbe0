"""URL configuration: the todo API is served from the site root."""

from django.urls import include, path

urlpatterns = [
    path("", include("{{ cookiecutter.app_name }}.urls")),
]
