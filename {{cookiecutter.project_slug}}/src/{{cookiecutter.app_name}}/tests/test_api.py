"""The Todo-Backend API (https://todobackend.com), collection at /todos."""

import re

import pytest

from ..models import Todo
from . import COLLECTION

pytestmark = pytest.mark.django_db


class TestCreateTodo:
    @pytest.fixture
    def response(self, create_todo):
        return create_todo()

    def test_returns_201_created(self, response):
        assert response.status_code == 201

    def test_location_header_is_the_todo_url(self, response):
        assert re.fullmatch(r"http://testserver/todos/\d+", response["Location"])
        assert response["Location"] == response.json()["url"]

    def test_todo_is_created(self, response):
        assert Todo.objects.count() == 1

    def test_todo_has_the_posted_title(self, response):
        assert Todo.objects.get().title == "Walk the dog"
        assert response.json()["title"] == "Walk the dog"

    def test_completed_is_false_by_default(self, response):
        assert response.json()["completed"] is False

    def test_order_is_null_by_default(self, response):
        assert response.json()["order"] is None

    def test_url_is_absolute_and_fetchable(self, api_client, response):
        url = response.json()["url"]
        assert url.startswith("http://testserver/")

        fetched = api_client.get(url)

        assert fetched.status_code == 200
        assert fetched.json() == response.json()

    def test_can_create_with_order(self, api_client, create_todo):
        created = create_todo(order=523)

        assert created.status_code == 201
        assert created.json()["order"] == 523
        assert api_client.get(created.json()["url"]).json()["order"] == 523

    def test_missing_title_is_rejected(self, api_client):
        response = api_client.post(COLLECTION, {"completed": True}, format="json")

        assert response.status_code == 400
        assert "title" in response.json()
        assert not Todo.objects.exists()


class TestListTodos:
    def test_empty_list_is_a_json_array(self, api_client):
        response = api_client.get(COLLECTION)

        assert response.status_code == 200
        assert response.json() == []

    def test_lists_created_todos_as_a_plain_array(self, api_client, create_todo):
        create_todo(title="first")
        create_todo(title="second")

        todos = api_client.get(COLLECTION).json()

        assert [todo["title"] for todo in todos] == ["first", "second"]

    def test_can_navigate_from_list_to_todo(self, api_client, create_todo):
        create_todo(title="navigate")

        [listed] = api_client.get(COLLECTION).json()
        fetched = api_client.get(listed["url"])

        assert fetched.status_code == 200
        assert fetched.json() == listed


class TestPutTodo:
    @pytest.fixture
    def response(self, api_client, todo_url):
        data = {"title": "Walk the cat", "completed": True, "order": 2}
        return api_client.put(todo_url, data, format="json")

    def test_returns_200_ok(self, response):
        assert response.status_code == 200

    def test_todo_is_updated(self, response):
        todo = Todo.objects.get()
        assert (todo.title, todo.completed, todo.order) == ("Walk the cat", True, 2)


class TestPatchTodo:
    @pytest.fixture
    def response(self, api_client, todo_url):
        return api_client.patch(todo_url, {"completed": True}, format="json")

    def test_returns_200_ok(self, response):
        assert response.status_code == 200

    def test_todo_is_updated(self, response):
        assert Todo.objects.get().completed is True
        assert response.json()["completed"] is True

    @pytest.mark.parametrize(
        "field, value",
        [("title", "Walk the cat"), ("completed", True), ("order", 95)],
    )
    def test_change_is_persisted(self, api_client, todo_url, field, value):
        before = api_client.get(todo_url).json()

        api_client.patch(todo_url, {field: value}, format="json")

        assert api_client.get(todo_url).json() == {**before, field: value}

    def test_change_shows_in_the_list(self, api_client, todo_url):
        api_client.patch(todo_url, {"title": "changed"}, format="json")

        [listed] = api_client.get(COLLECTION).json()

        assert listed["title"] == "changed"


class TestDeleteTodo:
    @pytest.fixture
    def response(self, api_client, todo_url):
        return api_client.delete(todo_url)

    def test_returns_204_no_content(self, response):
        assert response.status_code == 204

    def test_todo_is_deleted(self, api_client, todo_url, response):
        assert not Todo.objects.exists()
        assert api_client.get(todo_url).status_code == 404


class TestDeleteAllTodos:
    @pytest.fixture
    def response(self, api_client, create_todo):
        create_todo(title="first")
        create_todo(title="second")
        return api_client.delete(COLLECTION)

    def test_returns_204_no_content(self, response):
        assert response.status_code == 204

    def test_all_todos_are_deleted(self, api_client, response):
        assert not Todo.objects.exists()
        assert api_client.get(COLLECTION).json() == []
