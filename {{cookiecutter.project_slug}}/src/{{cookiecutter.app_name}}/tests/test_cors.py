"""CORS: the spec's clients call the API from pages on other origins."""

import pytest

from . import COLLECTION

pytestmark = pytest.mark.django_db

ORIGIN = "https://www.todobackend.com"


def test_simple_request_is_allowed_from_any_origin(api_client):
    response = api_client.get(COLLECTION, HTTP_ORIGIN=ORIGIN)

    assert response["Access-Control-Allow-Origin"] in ("*", ORIGIN)


def preflight(api_client, url, method):
    return api_client.options(
        url,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )


def allowed(response, header):
    return {value.strip().upper() for value in response[header].split(",")}


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_preflight_for_a_todo_is_answered(api_client, todo_url, method):
    response = preflight(api_client, todo_url, method)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    assert method in allowed(response, "Access-Control-Allow-Methods")
    assert "CONTENT-TYPE" in allowed(response, "Access-Control-Allow-Headers")


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_preflight_for_the_collection_is_answered(api_client, method):
    response = preflight(api_client, COLLECTION, method)

    assert response.status_code == 200
    assert method in allowed(response, "Access-Control-Allow-Methods")
    assert "CONTENT-TYPE" in allowed(response, "Access-Control-Allow-Headers")
