"""The OpenAPI schema at /schema and its Swagger UI page at /docs, which API_DOCS=false turns off.

The schema is generated from the views and serializers: a field added to both appears in it with
no further work, and anything drf-spectacular cannot describe fails these tests with its warning.
"""

import importlib
import re
import runpy

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import override_settings
from django.urls import clear_url_caches

from ..serializers import TodoSerializer

# Run afresh from its file: run_module would warn that the module is already imported.
BASE_SETTINGS = importlib.import_module(settings.SETTINGS_MODULE.rsplit(".", 1)[0] + ".base")


@pytest.fixture
def schema(api_client):
    return api_client.get("/schema", HTTP_ACCEPT="application/json").json()


def test_the_schema_is_valid_and_generated_without_a_warning(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )


def test_every_serializer_field_is_in_the_todo_component(schema):
    fields = TodoSerializer().fields
    components = schema["components"]["schemas"]

    assert set(components["Todo"]["properties"]) == set(fields)
    # What a client must send: the required fields, and no read-only one.
    writable = {name for name, field in fields.items() if not field.read_only}
    assert set(components["TodoRequest"]["properties"]) == writable
    required = {name for name, field in fields.items() if field.required}
    assert set(components["TodoRequest"]["required"]) == required


def test_the_schema_describes_each_operation_and_its_status(schema):
    statuses = {
        (path, method): list(operation["responses"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }

    assert statuses == {
        ("/todos", "get"): ["200"],
        ("/todos", "post"): ["201", "400"],
        ("/todos", "delete"): ["204"],
        ("/todos/{id}", "get"): ["200", "404"],
        ("/todos/{id}", "put"): ["200", "400", "404"],
        ("/todos/{id}", "patch"): ["200", "400", "404"],
        ("/todos/{id}", "delete"): ["204", "404"],
    }
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"detail"}


def test_request_bodies_are_json_only(schema):
    bodies = [
        operation["requestBody"]["content"]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if "requestBody" in operation
    ]

    assert len(bodies) == 3  # POST, PUT, PATCH
    assert all(list(content) == ["application/json"] for content in bodies)


def test_the_schema_is_json_or_yaml_as_asked(api_client):
    as_json = api_client.get("/schema", HTTP_ACCEPT="application/json")
    by_query = api_client.get("/schema?format=json")
    as_yaml = api_client.get("/schema?format=yaml")

    assert as_json["Content-Type"].startswith("application/json")
    assert by_query["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_json.json() == by_query.json() == yaml.safe_load(as_yaml.content)
    assert as_json.json()["openapi"].startswith("3.")


def test_the_docs_page_loads_only_assets_this_service_ships(api_client):
    page = api_client.get("/docs")

    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.content.decode())
    assert len(assets) >= 3, assets  # Swagger UI's stylesheet and scripts
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), f"{asset} is not one of our static files"
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), f"{asset} is missing"
    assert '"/schema"' in page.content.decode()


def reload_urls():
    """The URLconf reads API_DOCS when it is imported."""
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    clear_url_caches()


def test_api_docs_false_in_the_environment_turns_off_schema_and_docs(api_client, monkeypatch):
    monkeypatch.setenv("API_DOCS", "false")
    api_docs = runpy.run_path(BASE_SETTINGS.__file__)["API_DOCS"]
    try:
        with override_settings(API_DOCS=api_docs):
            reload_urls()
            assert api_client.get("/schema").status_code == 404
            assert api_client.get("/docs").status_code == 404
            assert api_client.get("/health").status_code == 200
    finally:
        reload_urls()
    assert api_client.get("/schema").status_code == 200
