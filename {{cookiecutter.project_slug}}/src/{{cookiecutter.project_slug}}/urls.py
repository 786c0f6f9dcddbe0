"""URL configuration: the todo API is served from the site root, its OpenAPI schema at /schema
and the schema's Swagger UI page at /docs (unless API_DOCS is off)."""

from django.conf import settings
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


def health(request):
    """Answers as soon as the app serves requests: the release image's HEALTHCHECK asks it."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("health", health),
    path("", include("{{ cookiecutter.app_name }}.urls")),
]

if settings.API_DOCS:
    urlpatterns += [
        # JSON or YAML, as the Accept header or ?format=json / ?format=yaml asks.
        path("schema", SpectacularAPIView.as_view(), name="schema"),
        path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    ]
