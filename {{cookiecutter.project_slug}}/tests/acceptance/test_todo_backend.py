"""The Todo-Backend specification (https://todobackend.com/specs), as a client sees it.

They check the spec's fields and behaviour, and let a todo carry fields a team adds (the README's
first-day change adds due_on): extend them when the API's contract changes, e.g. with a test that
the new field is kept.
"""

from service import BASE_URL, COLLECTION

ORIGIN = "https://www.todobackend.com"
SPEC_FIELDS = ("url", "title", "completed", "order")


def spec_fields(todo):
    """The fields the spec defines, each of which a todo must have; the others are the team's."""
    missing = [name for name in SPEC_FIELDS if name not in todo]
    assert not missing, f"the todo lacks {missing}: {todo}"
    return {name: todo[name] for name in SPEC_FIELDS}


def test_the_api_root_answers_and_links_the_collection(http):
    response = http.get(f"{BASE_URL}/", headers={"Origin": ORIGIN})

    assert response.status_code == 200
    assert response.json()["todos"] == COLLECTION
    assert response.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN)


def test_a_cors_preflight_allows_the_specs_methods_and_headers(http):
    response = http.options(
        COLLECTION,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    allowed = response.headers["Access-Control-Allow-Methods"].upper()
    assert {"GET", "POST", "PATCH", "DELETE"} <= {method.strip() for method in allowed.split(",")}
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()


def test_create_answers_201_with_the_new_todo_and_its_location(create):
    response = create("Walk the dog", order=3)

    assert response.status_code == 201
    todo = response.json()
    assert response.headers["Location"] == todo["url"]
    assert todo["url"].startswith(f"{COLLECTION}/")
    expected = {"url": todo["url"], "title": "Walk the dog", "completed": False, "order": 3}
    assert spec_fields(todo) == expected


def test_the_collection_lists_every_todo(http, create):
    create("first")
    create("second")

    response = http.get(COLLECTION)

    assert response.status_code == 200
    assert [todo["title"] for todo in response.json()] == ["first", "second"]


def test_a_todo_is_fetched_by_its_url(http, create):
    created = create("fetch me").json()

    response = http.get(created["url"])

    assert response.status_code == 200
    assert response.json() == created


def test_patch_changes_title_completed_and_order(http, create):
    url = create("old title").json()["url"]

    patched = http.patch(url, json={"title": "new title", "completed": True, "order": 7})

    assert patched.status_code == 200
    expected = {"url": url, "title": "new title", "completed": True, "order": 7}
    assert spec_fields(patched.json()) == expected
    assert http.get(url).json() == patched.json()


def test_delete_removes_one_todo(http, create):
    kept = create("keep").json()
    url = create("delete").json()["url"]

    assert http.delete(url).status_code == 204

    assert http.get(url).status_code == 404
    assert http.get(COLLECTION).json() == [kept]


def test_delete_on_the_collection_removes_every_todo(http, create):
    create("one")
    create("two")

    assert http.delete(COLLECTION).status_code == 204

    assert http.get(COLLECTION).json() == []
