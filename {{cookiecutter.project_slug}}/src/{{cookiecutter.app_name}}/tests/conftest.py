import pytest
from rest_framework.test import APIClient

from . import COLLECTION


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def create_todo(db, api_client):
    """POST a todo to the collection, as a spec client would, and return the response."""

    def create(**fields):
        data = {"title": "Walk the dog", **fields}
        return api_client.post(COLLECTION, data, format="json")

    return create


@pytest.fixture
def todo_url(create_todo):
    """The url of a freshly created todo, taken from the API's own answer."""
    return create_todo().json()["url"]
