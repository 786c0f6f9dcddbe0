"""The agent's probe (ansible/action_plugins/mysql_probe.py) without a server: its contract.

Connections are faked; waits are real but a few tenths of a second. The Docker layer runs the
probe for real, inside the agent, against MySQL and MariaDB.
"""

import importlib.util
import sys
import time

import pymysql
import pytest

from tests.support import TEMPLATE_PROJECT_DIR

PLUGIN = TEMPLATE_PROJECT_DIR / "ansible/action_plugins/mysql_probe.py"
TARGET = {"host": "db", "port": 3306, "database": "shop", "user": "app", "password": "s3cret"}


def load_plugin():
    spec = importlib.util.spec_from_file_location("mysql_probe_under_test", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    # No __pycache__ beside the template's file: it would be copied into every bake.
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


plugin = load_plugin()


class Server:
    """Answers each connection attempt with the next outcome: an error to raise, or success (it
    is then the connection too)."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.attempts = 0

    def connect(self, **settings):
        assert settings["password"] == "s3cret" and settings["connect_timeout"] >= 1
        self.attempts += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def cursor(self):
        return self

    def execute(self, query):
        assert query == "SELECT 1"

    def get_server_info(self):
        return "9.7.4"


def probe(server, timeout=0.6, interval=0.05):
    return plugin.probe(**TARGET, timeout=timeout, interval=interval, connect=server.connect)


def test_a_ready_server_is_reported_at_once():
    waited, version = probe(Server("ok"))
    assert waited < 0.1 and version == "9.7.4"


def test_a_server_still_starting_is_polled_until_it_answers():
    refused = pymysql.err.OperationalError(2003, "Can't connect to MySQL server on 'db'")
    server = Server(refused, refused, refused, "ok")
    waited, _ = probe(server)
    assert server.attempts == 4
    assert 0.15 <= waited < 0.5


@pytest.mark.parametrize("code", [1044, 1045, 1049, 1130, 1698])
def test_a_refusal_fails_at_once_and_says_what_it_is(code):
    server = Server(pymysql.err.OperationalError(code, "Access denied"))
    started = time.monotonic()
    with pytest.raises(plugin.ProbeFailed) as failure:
        probe(server, timeout=5)
    assert time.monotonic() - started < 0.5 and server.attempts == 1
    message = str(failure.value)
    assert "refused" in message and f"MySQL error {code}" in message
    for named in ("'shop'", "'app'", "db:3306"):
        assert named in message
    assert "s3cret" not in message


def test_a_server_that_never_answers_times_out_naming_the_last_error():
    server = Server(pymysql.err.OperationalError(2003, "Connection refused"))
    started = time.monotonic()
    with pytest.raises(plugin.ProbeFailed) as failure:
        probe(server, timeout=0.4, interval=0.1)
    assert 0.3 <= time.monotonic() - started < 0.8
    assert server.attempts >= 3
    message = str(failure.value)
    assert "did not answer SELECT 1 within 0.4 s" in message and "Connection refused" in message
    assert "'shop'" in message and "db:3306" in message and "s3cret" not in message
