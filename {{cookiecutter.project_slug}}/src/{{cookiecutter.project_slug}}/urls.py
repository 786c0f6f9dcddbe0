"""URL configuration: the todo API is served from the site root, its OpenAPI schema at /schema
and the schema's Swagger UI page at /docs (unless API_DOCS is off); /health and /ready for
probes; errors in JSON (errors.py)."""

from django.conf import settings
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .health import health, ready

urlpatterns = [
    path("health", health),
    path("ready", ready),
    path("", include("{{ cookiecutter.app_name }}.urls")),
]

if settings.API_DOCS:
    urlpatterns += [
        # JSON or YAML, as the Accept header or ?format=json / ?format=yaml asks.
        path("schema", SpectacularAPIView.as_view(), name="schema"),
        path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    ]

handler400 = "{{ cookiecutter.project_slug }}.errors.bad_request"
handler403 = "{{ cookiecutter.project_slug }}.errors.permission_denied"
handler404 = "{{ cookiecutter.project_slug }}.errors.page_not_found"
handler500 = "{{ cookiecutter.project_slug }}.errors.server_error"
