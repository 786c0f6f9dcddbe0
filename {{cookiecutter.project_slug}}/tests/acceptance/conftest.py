"""The acceptance tests call a running release over HTTP, as any client would: they know
nothing of its code. Run them against any release: BASE_URL=http://127.0.0.1:PORT pytest
"""

import os
import time

import pytest
import requests
from service import BASE_URL, COLLECTION

# The release may still be starting (or restarting) when the tests do.
STARTUP_SECONDS = float(os.environ.get("STARTUP_SECONDS", "60"))


def pytest_sessionstart(session):
    """Wait until the release answers GET /ready (its database answers, migrations applied), or
    stop the run saying why."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            answer = requests.get(f"{BASE_URL}/ready", timeout=2)
            if answer.status_code == 200:
                return
            problem = f"GET /ready answered {answer.status_code}: {answer.text[:500]}"
        except requests.RequestException as error:
            problem = str(error)
        if time.monotonic() > deadline:
            pytest.exit(f"{BASE_URL} did not answer within {STARTUP_SECONDS:.0f} s: {problem}", 1)
        time.sleep(0.25)


class Client(requests.Session):
    """A session that never waits for ever on an answer."""

    def request(self, method, url, **options):
        options.setdefault("timeout", 10)
        return super().request(method, url, **options)


@pytest.fixture
def http():
    """A client; each test starts from an empty todo list."""
    with Client() as client:
        assert client.delete(COLLECTION).status_code == 204
        yield client


@pytest.fixture
def create(http):
    """POST a todo to the collection; returns the response."""

    def create_todo(title="Walk the dog", **fields):
        return http.post(COLLECTION, json={"title": title, **fields})

    return create_todo
