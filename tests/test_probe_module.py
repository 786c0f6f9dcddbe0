"""Unit tests of the agent's probe (ansible/action_plugins/mysql_probe.py), without Docker.

The plugin is imported by path; neither Ansible nor PyMySQL is needed: connect, the TCP
check, the clock and sleep are fakes, so nothing really waits. The Docker layer runs it for
real, inside the agent's ansible-playbook.
"""

import importlib.util
import socket
import sys
import types
from typing import ClassVar

import pytest

from tests.conftest import TEMPLATE_PROJECT_DIR

MODULE_PATH = TEMPLATE_PROJECT_DIR / "ansible" / "action_plugins" / "mysql_probe.py"
PLAYBOOK_PATH = TEMPLATE_PROJECT_DIR / "ansible" / "probe.yml"


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
    assert callable(mp.probe) and callable(mp.run_probe)
    assert mp.ActionBase is object  # the fallback: Ansible is not installed here
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


PARAMS = {**TARGET, "timeout": 60.0, "interval": 0.1, "delay": 0.0, "attempt_timeout": 2.0}


@pytest.fixture
def fake_tcp(monkeypatch):
    monkeypatch.setattr(mp, "tcp_connect", lambda host, port, timeout: FakeSocket())


def test_run_probe_reports_success(fake_tcp):
    result = mp.run_probe(PARAMS, connect=lambda **kwargs: FakeConnection())
    assert result["changed"] is False and "failed" not in result
    assert result["msg"].startswith("db:3306/todobackend answered SELECT 1 as todo after ")
    assert result["probe_attempts"] == 1


def test_run_probe_fails_on_authentication_error(fake_tcp):
    def connect(**kwargs):
        return FakeConnection(error=FakeMySQLError(1045, "Access denied"))

    result = mp.run_probe(PARAMS, connect=connect)
    assert result["failed"] is True
    assert result["error"] == "auth"
    assert result["msg"].startswith("AUTHENTICATION error: db:3306/todobackend")
    assert "s3cret" not in repr(result)


@pytest.mark.parametrize(
    ("name", "variable"),
    [("user", "MYSQL_USER"), ("database", "MYSQL_DATABASE"), ("host", "PROBE_HOST")],
)
def test_run_probe_rejects_empty_settings(name, variable):
    result = mp.run_probe({**PARAMS, name: ""}, connect=lambda **kwargs: pytest.fail("connected"))
    assert result["failed"] is True and result["error"] == "config"
    assert f"{name!r} is empty (probe.yml reads it from {variable})" in result["msg"]


def test_run_probe_without_pymysql(monkeypatch):
    def missing():
        raise ImportError("No module named 'pymysql'")

    monkeypatch.setattr(mp, "_default_connect", missing)
    result = mp.run_probe(PARAMS)
    assert result["failed"] is True and result["error"] == "config"
    assert "PyMySQL is not installed" in result["msg"]


def test_argument_spec_hides_the_password_and_matches_the_playbook():
    assert mp.ARGUMENT_SPEC["password"]["no_log"] is True
    assert set(mp.ARGUMENT_SPEC) == set(PARAMS)
    # probe.yml's default for PROBE_INTERVAL is the plugin's own.
    playbook = PLAYBOOK_PATH.read_text()
    interval = mp.ARGUMENT_SPEC["interval"]["default"]
    assert f"PROBE_INTERVAL') | default({interval}, true)" in playbook


class FakeActionBase:
    """Just enough of Ansible's ActionBase: run() and validate_argument_spec()."""

    task_args: ClassVar[dict] = {}

    def run(self, tmp=None, task_vars=None):
        return {}

    def validate_argument_spec(self, argument_spec):
        unknown = set(self.task_args) - set(argument_spec)
        if unknown:
            raise ValueError(f"unsupported parameters: {sorted(unknown)}")
        defaults = {name: spec.get("default") for name, spec in argument_spec.items()}
        return None, {**defaults, **self.task_args}


@pytest.fixture
def plugin_with_fake_ansible(monkeypatch):
    """A second copy of the plugin, loaded while a fake ansible.plugins.action is importable."""
    action = types.ModuleType("ansible.plugins.action")
    action.ActionBase = FakeActionBase
    for name in ("ansible", "ansible.plugins"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "ansible.plugins.action", action)
    plugin = load_module()
    monkeypatch.setattr(plugin, "tcp_connect", lambda host, port, timeout: FakeSocket())
    monkeypatch.setattr(plugin, "_default_connect", lambda: lambda **kwargs: FakeConnection())
    return plugin


def test_action_module_runs_the_probe_with_the_task_arguments(
    plugin_with_fake_ansible, monkeypatch
):
    plugin = plugin_with_fake_ansible
    assert issubclass(plugin.ActionModule, FakeActionBase)
    assert plugin.ActionModule._supports_check_mode is True
    monkeypatch.setattr(FakeActionBase, "task_args", {**TARGET, "port": 3307})
    result = plugin.ActionModule().run(task_vars={})
    assert result["changed"] is False
    assert result["msg"].startswith("db:3307/todobackend answered SELECT 1 as todo")


def test_action_module_rejects_unknown_arguments(plugin_with_fake_ansible, monkeypatch):
    monkeypatch.setattr(FakeActionBase, "task_args", {**TARGET, "passwd": "x"})
    with pytest.raises(ValueError, match="passwd"):
        plugin_with_fake_ansible.ActionModule().run(task_vars={})
