"""Unit tests of the agent's Ansible module (ansible/library/mysql_probe.py), without Docker.

The module is imported by path; neither Ansible nor PyMySQL is needed: connect, the TCP
check, the clock and sleep are fakes, so nothing really waits.
"""

import importlib.util
import socket
import sys
import types
from typing import ClassVar

import pytest

from tests.conftest import TEMPLATE_PROJECT_DIR

MODULE_PATH = TEMPLATE_PROJECT_DIR / "ansible" / "library" / "mysql_probe.py"


def load_module():
    spec = importlib.util.spec_from_file_location("mysql_probe_under_test", MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    # No __pycache__ next to the template's file: it would be copied into every bake.
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


mp = load_module()

TARGET = {
    "host": "db",
    "port": 3306,
    "user": "todo",
    "password": "s3cret",
    "database": "todobackend",
}


class FakeMySQLError(Exception):
    """Shaped like pymysql.err.OperationalError: args are (errno, message)."""


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSocket:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


class FakeConnection:
    """Shaped like a PyMySQL connection made with defer_connect=True."""

    def __init__(self, version="8.4.3", error=None):
        self.version = version
        self.error = error
        self.sock = None
        self.closed = False
        self.queries = []

    def connect(self, sock):
        self.sock = sock
        if self.error is not None:
            raise self.error

    def cursor(self):
        return self

    def execute(self, query):
        self.queries.append(query)

    def fetchone(self):
        return (1,)

    def close(self):
        self.closed = True

    def get_server_info(self):
        return self.version


class Script:
    """A fake connect or TCP check: raises the scripted errors in turn, then succeeds.

    Every call costs ``cost`` seconds of fake time, records its arguments and returns
    ``make()`` (a fresh FakeConnection by default).
    """

    def __init__(self, clock, errors=(), cost=0.01, forever=None, make=FakeConnection):
        self.clock = clock
        self.errors = list(errors)
        self.cost = cost
        self.forever = forever
        self.make = make
        self.calls = []
        self.returned = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        self.clock.now += self.cost
        if self.errors:
            raise self.errors.pop(0)
        if self.forever is not None:
            raise self.forever
        self.returned.append(self.make())
        return self.returned[-1]


def tcp(clock, errors=(), forever=None):
    """A fake TCP check that returns a fresh FakeSocket once the scripted errors are used up."""
    return Script(clock, errors=errors, forever=forever, make=FakeSocket)


def run_probe(clock, connect, tcp_check, **overrides):
    kwargs = {**TARGET, "timeout": 60, "interval": 0.2, "delay": 0, **overrides}
    return mp.probe(connect=connect, tcp=tcp_check, clock=clock, sleep=clock.sleep, **kwargs)


def refused():
    return ConnectionRefusedError(111, "Connection refused")


def unresolvable():
    return socket.gaierror(-2, "Name or service not known")


def test_imports_without_ansible_and_pymysql():
    assert callable(mp.probe) and callable(mp.main)
    assert "pymysql" not in vars(mp)


def test_success_straight_away():
    clock = FakeClock()
    connect = Script(clock)
    check = tcp(clock)
    result = run_probe(clock, connect, check)
    assert result.attempts == 1
    assert clock.sleeps == []
    assert result.server_version == "8.4.3"
    assert result.message == (
        "db:3306/todobackend answered SELECT 1 as todo after 0.0 s (server 8.4.3)"
    )
    assert check.calls[0][0] == ("db", 3306, 2.0)
    _, kwargs = connect.calls[0]
    assert kwargs["host"] == "db" and kwargs["port"] == 3306 and kwargs["user"] == "todo"
    assert kwargs["password"] == "s3cret" and kwargs["database"] == "todobackend"
    # The handshake runs on the socket the TCP check opened: one connection per attempt.
    assert kwargs["defer_connect"] is True
    connection = connect.returned[0]
    assert connection.sock is check.returned[0]
    assert connection.queries == ["SELECT 1"]
    assert connection.closed


def test_success_after_failures_in_both_phases():
    clock = FakeClock()
    check = tcp(clock, errors=[refused()] * 3)
    connect = Script(
        clock,
        errors=[
            FakeMySQLError(2013, "Lost connection to MySQL server during query"),
            FakeMySQLError(1053, "Server shutdown in progress"),
        ],
    )
    result = run_probe(clock, connect, check)
    assert result.attempts == 6
    assert len(check.calls) == 6
    assert len(connect.calls) == 3
    assert clock.sleeps == [0.2] * 5
    assert result.tcp_elapsed == pytest.approx(4 * 0.01 + 3 * 0.2)
    assert result.elapsed == pytest.approx(6 * 0.01 + 3 * 0.01 + 5 * 0.2)
    assert "answered SELECT 1 as todo after 1.1 s" in result.message
    assert result.as_dict()["probe_attempts"] == 6
    # The sockets of the failed handshakes are closed, not leaked.
    assert all(sock.closed for sock in check.returned[:2])


def test_failed_handshake_closes_the_socket():
    clock = FakeClock()
    check = tcp(clock)
    lost = FakeMySQLError(2013, "Lost connection to MySQL server during handshake")
    connect = Script(clock, make=lambda: FakeConnection(error=lost))
    with pytest.raises(mp.ProbeTimeout):
        run_probe(clock, connect, check, timeout=0.5)
    assert check.returned and all(sock.closed for sock in check.returned)
    assert all(connection.closed for connection in connect.returned)


def test_mariadb_version_prefix_is_dropped():
    clock = FakeClock()
    connect = Script(clock, make=lambda: FakeConnection("5.5.5-10.11.6-MariaDB-0+deb12u1"))
    result = run_probe(clock, connect, tcp(clock))
    assert result.server_version == "10.11.6-MariaDB-0+deb12u1"
    assert result.message.endswith("(server 10.11.6-MariaDB-0+deb12u1)")


def test_timeout_on_a_closed_port_names_target_and_last_error():
    clock = FakeClock()
    check = tcp(clock, forever=refused())
    connect = Script(clock)
    with pytest.raises(mp.ProbeTimeout) as caught:
        run_probe(clock, connect, check, host="127.0.0.1", port=3999, timeout=3)
    error = caught.value
    message = str(error)
    assert message.startswith("TIMEOUT: 127.0.0.1:3999/todobackend (user 'todo')")
    assert "did not answer SELECT 1 within 3 s (waited 3.0 s, " in message
    assert "the TCP port never accepted a connection" in message
    assert message.endswith("last error: connection refused")
    assert error.kind == "timeout"
    assert error.last_error == "connection refused"
    assert 3 <= error.elapsed < 3.3
    assert connect.calls == []
    assert sum(clock.sleeps) < 3


def test_timeout_after_the_port_opened_reports_the_mysql_error():
    clock = FakeClock()
    check = tcp(clock, errors=[refused()])
    connect = Script(clock, forever=FakeMySQLError(2013, "Lost connection to MySQL server"))
    with pytest.raises(mp.ProbeTimeout) as caught:
        run_probe(clock, connect, check, timeout=2)
    message = str(caught.value)
    assert "db:3306/todobackend" in message
    assert "the TCP port opened after 0.2 s but SELECT 1 never succeeded" in message
    assert message.endswith("last error: MySQL error 2013: Lost connection to MySQL server")


@pytest.mark.parametrize(
    ("errno", "kind", "text"),
    [
        (1045, "auth", "Access denied for user 'todo'@'172.18.0.3' (using password: YES)"),
        (1044, "auth", "Access denied for user 'todo'@'%' to database 'todobackend'"),
        (1698, "auth", "Access denied for user 'todo'@'localhost'"),
        (1130, "auth", "Host '172.18.0.3' is not allowed to connect to this MariaDB server"),
        (1049, "config", "Unknown database 'todobackend'"),
    ],
)
def test_authentication_errors_fail_straight_away(errno, kind, text):
    clock = FakeClock()
    connect = Script(clock, make=lambda: FakeConnection(error=FakeMySQLError(errno, text)))
    with pytest.raises(mp.ProbeAuthError) as caught:
        run_probe(clock, connect, tcp(clock))
    error = caught.value
    assert error.kind == kind
    assert error.errno == errno
    assert error.attempts == 1
    assert clock.sleeps == []
    message = str(error)
    assert message.startswith(("AUTHENTICATION error: ", "CONFIGURATION error: "))
    assert "db:3306/todobackend" in message
    assert "user 'todo'" in message and "database 'todobackend'" in message
    assert f"MySQL error {errno}: {text}" in message
    assert "Not retried" in message
    assert "s3cret" not in message


def test_authentication_error_after_the_server_came_up_is_not_a_timeout():
    clock = FakeClock()
    check = tcp(clock, errors=[refused(), refused()])
    connect = Script(clock, forever=FakeMySQLError(1045, "Access denied"))
    with pytest.raises(mp.ProbeAuthError) as caught:
        run_probe(clock, connect, check)
    assert len(connect.calls) == 1
    assert caught.value.attempts == 3


def test_dns_errors_are_retried():
    clock = FakeClock()
    check = tcp(clock, errors=[unresolvable()] * 5)
    result = run_probe(clock, Script(clock), check)
    assert result.attempts == 6


def test_dns_errors_until_timeout_are_reported_as_such():
    clock = FakeClock()
    check = tcp(clock, forever=unresolvable())
    with pytest.raises(mp.ProbeTimeout) as caught:
        run_probe(clock, Script(clock), check, timeout=1)
    assert caught.value.last_error == "name does not resolve (Name or service not known)"
    message = str(caught.value)
    assert "the name 'db' never resolved (is the database container running" in message
    assert message.endswith("last error: name does not resolve (Name or service not known)")


def test_pymysql_wrapped_dns_error_is_retried():
    clock = FakeClock()
    wrapped = FakeMySQLError(
        2003, "Can't connect to MySQL server on 'db' ([Errno -2] Name or service not known)"
    )
    connect = Script(clock, errors=[wrapped, wrapped])
    result = run_probe(clock, connect, tcp(clock))
    assert result.attempts == 3


def test_delay_comes_first_and_counts_in_the_timeout():
    clock = FakeClock()
    check = tcp(clock, forever=refused())
    with pytest.raises(mp.ProbeTimeout) as caught:
        run_probe(clock, Script(clock), check, delay=5, timeout=6)
    assert clock.sleeps[0] == 5
    assert caught.value.elapsed == pytest.approx(6, abs=0.05)


def test_at_least_one_attempt_even_when_the_delay_eats_the_timeout():
    clock = FakeClock()
    result = run_probe(clock, Script(clock), tcp(clock), delay=3, timeout=1)
    assert result.attempts == 1
    assert result.elapsed == pytest.approx(3.02)


def test_attempt_timeouts_are_short_and_clipped_to_what_is_left():
    clock = FakeClock()
    check = tcp(clock, errors=[refused()])
    connect = Script(clock, cost=0.5, forever=FakeMySQLError(2013, "Lost connection"))
    with pytest.raises(mp.ProbeTimeout):
        run_probe(clock, connect, check, timeout=3, interval=0.5)
    tcp_timeouts = [args[2] for args, _ in check.calls]
    assert tcp_timeouts[0] == 2.0  # attempt_timeout
    sql_timeouts = [kwargs["connect_timeout"] for _, kwargs in connect.calls]
    assert all(0 < t <= 2.0 for t in sql_timeouts)
    assert sql_timeouts[-1] < 1  # clipped near the deadline
    assert all(kwargs["read_timeout"] == kwargs["connect_timeout"] for _, kwargs in connect.calls)


def test_sleep_never_overshoots_the_deadline():
    clock = FakeClock()
    with pytest.raises(mp.ProbeTimeout) as caught:
        run_probe(clock, Script(clock), tcp(clock, forever=refused()), timeout=1, interval=0.7)
    assert caught.value.elapsed == pytest.approx(1.0, abs=0.02)


def test_unexpected_errors_are_retried_and_described():
    clock = FakeClock()
    connect = Script(clock, forever=RuntimeError("boom"))
    with pytest.raises(mp.ProbeTimeout) as caught:
        run_probe(clock, connect, tcp(clock), timeout=0.5)
    assert caught.value.last_error == "RuntimeError: boom"


def test_real_tcp_connect_on_localhost():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        sock = mp.tcp_connect("127.0.0.1", port, 1.0)
        assert sock.getpeername() == ("127.0.0.1", port)
        sock.close()
    finally:
        server.close()
    with pytest.raises(ConnectionRefusedError):
        mp.tcp_connect("127.0.0.1", port, 1.0)


def test_describe_error():
    assert mp.describe_error(refused()) == "connection refused"
    assert mp.describe_error(TimeoutError("timed out")) == "timed out"
    assert mp.describe_error(OSError(113, "No route to host")) == "[Errno 113] No route to host"
    assert mp.mysql_errno(refused()) is None
    assert mp.mysql_errno(FakeMySQLError(1045, "x")) == 1045


class Exited(Exception):
    pass


class FakeAnsibleModule:
    """Just enough of AnsibleModule for main(): params in, exit_json/fail_json out."""

    params: ClassVar[dict] = {}

    def __init__(self, argument_spec, supports_check_mode):
        self.argument_spec = argument_spec
        self.params = {name: spec.get("default") for name, spec in argument_spec.items()} | type(
            self
        ).params

    def exit_json(self, **result):
        raise Exited(("exit", result))

    def fail_json(self, **result):
        raise Exited(("fail", result))


@pytest.fixture
def fake_ansible(monkeypatch):
    basic = types.ModuleType("ansible.module_utils.basic")
    basic.AnsibleModule = FakeAnsibleModule
    for name in ("ansible", "ansible.module_utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "ansible.module_utils.basic", basic)
    monkeypatch.setattr(FakeAnsibleModule, "params", dict(TARGET))
    monkeypatch.setattr(mp, "tcp_connect", lambda host, port, timeout: FakeSocket())
    return FakeAnsibleModule


def run_main():
    with pytest.raises(Exited) as caught:
        mp.main()
    return caught.value.args[0]


def test_main_reports_success(fake_ansible, monkeypatch):
    monkeypatch.setattr(mp, "_default_connect", lambda: lambda **kwargs: FakeConnection())
    outcome, result = run_main()
    assert outcome == "exit"
    assert result["changed"] is False
    assert result["msg"].startswith("db:3306/todobackend answered SELECT 1 as todo after ")


def test_main_fails_on_authentication_error(fake_ansible, monkeypatch):
    def connect(**kwargs):
        return FakeConnection(error=FakeMySQLError(1045, "Access denied"))

    monkeypatch.setattr(mp, "_default_connect", lambda: connect)
    outcome, result = run_main()
    assert outcome == "fail"
    assert result["error"] == "auth"
    assert result["msg"].startswith("AUTHENTICATION error: db:3306/todobackend")


def test_main_rejects_empty_credentials(fake_ansible, monkeypatch):
    monkeypatch.setattr(fake_ansible, "params", {**TARGET, "user": ""})
    outcome, result = run_main()
    assert outcome == "fail"
    assert "'user' is empty (probe.yml reads it from MYSQL_USER)" in result["msg"]


def test_password_is_no_log(fake_ansible, monkeypatch):
    spec = {}

    def capture(argument_spec, supports_check_mode):
        spec.update(argument_spec)
        raise Exited(None)

    monkeypatch.setattr(sys.modules["ansible.module_utils.basic"], "AnsibleModule", capture)
    with pytest.raises(Exited):
        mp.main()
    assert spec["password"]["no_log"] is True
