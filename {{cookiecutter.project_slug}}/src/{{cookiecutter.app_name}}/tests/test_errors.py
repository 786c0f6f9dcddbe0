"""Errors answered in JSON, as the API's own are: clients parse one format, and nothing of the
code or configuration leaks."""

import io
import logging

import pytest
from django.test import override_settings

from ..views import TodoViewSet
from . import COLLECTION

pytestmark = pytest.mark.django_db


def assert_json_error(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("path", [f"{COLLECTION}/abc", f"{COLLECTION}/12345", "/no/such/path"])
def test_an_unknown_path_or_id_is_a_json_404(api_client, path):
    assert_json_error(api_client.get(path), 404)


def test_a_malformed_body_is_a_json_400(api_client):
    response = api_client.post(COLLECTION, "{not json", content_type="application/json")

    assert_json_error(response, 400)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_upload_limit_is_a_json_413(api_client):
    body = '{"title": "%s"}' % ("x" * 2000)

    response = api_client.post(COLLECTION, body, content_type="application/json")

    assert_json_error(response, 413)


def test_a_server_error_is_a_json_500_without_details(api_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(TodoViewSet, "list", broken)
    api_client.raise_request_exception = False

    response = api_client.get(COLLECTION)

    assert_json_error(response, 500)
    assert "secret internals" not in response.content.decode()


@pytest.fixture
def log():
    """Everything the project's logging configuration writes, whichever of its handlers writes
    it (pytest's own capturing handlers aside)."""
    stream = io.StringIO()
    handlers = {
        handler
        for name in ("", "django", "django.request", "django.security")
        for handler in logging.getLogger(name).handlers
        if type(handler) is logging.StreamHandler
    }
    previous = {handler: handler.setStream(stream) for handler in handlers}
    yield stream
    for handler, original in previous.items():
        handler.setStream(original)


def test_a_wrong_host_is_a_json_400_logged_in_one_line_without_traceback(api_client, log):
    response = api_client.get(COLLECTION, HTTP_HOST="attacker.example.com")

    assert_json_error(response, 400)
    lines = log.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "attacker.example.com" in lines[0]
