"""Ansible action plugin: wait until a MySQL/MariaDB server really answers queries.

An action plugin, not a module: it runs inside ansible-playbook's own process, so the task
needs no module process (a module's start-up, about 0.25 s, would come on top of every wait;
``ansible.builtin.wait_for_connection`` is an action plugin for the same reason).

The probing logic lives in plain functions (``probe``, ``tcp_connect``,
``sql_select_one``) so it can be imported and unit-tested without Ansible;
``ActionModule`` is a thin wrapper.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

try:
    from ansible.plugins.action import ActionBase
except ImportError:  # imported by the unit tests, without Ansible
    ActionBase = object

DOCUMENTATION = r"""
module: mysql_probe
short_description: Wait until a MySQL/MariaDB server answers an authenticated SELECT 1
description:
  - Polls, inside a single task, until an authenticated C(SELECT 1) on the given
    database succeeds, all within one overall O(timeout). Each attempt resolves the
    name and opens the TCP port (both bounded by O(attempt_timeout)), then runs the
    MySQL handshake and the query through PyMySQL on that same connection.
  - Connection refused, unresolvable host names (the database container may not be
    registered in DNS yet), timeouts and server start-up errors are retried
    until O(timeout).
  - Authentication and configuration errors (MySQL errors 1044, 1045, 1049, 1130,
    1698) fail straight away; the official images only open TCP once
    initialisation has created the user and the database, so such an error is real.
options:
  host:
    description: Host name or IP address of the server.
    type: str
    default: db
  port:
    description: TCP port.
    type: int
    default: 3306
  user:
    description: Application user (not root).
    type: str
    required: true
  password:
    description: Password of O(user).
    type: str
    required: true
  database:
    description: Database to run C(SELECT 1) on.
    type: str
    required: true
  timeout:
    description: Overall budget in seconds, counted from the start and including O(delay).
    type: float
    default: 60
  interval:
    description: Seconds between two attempts.
    type: float
    default: 0.1
  delay:
    description: Seconds to wait before the first attempt.
    type: float
    default: 0
  attempt_timeout:
    description: Connect and read timeout of one attempt, in seconds.
    type: float
    default: 2
requirements:
  - PyMySQL, with the rsa extra for MySQL 8 caching_sha2_password without TLS
"""

EXAMPLES = r"""
- name: Wait for the database
  mysql_probe:
    host: db
    user: todobackend
    password: secret
    database: todobackend
    timeout: 60
"""

RETURN = r"""
msg: {description: One-line summary., type: str, returned: always}
elapsed: {description: Seconds from the start of the probe (including delay)., type: float, returned: always}
tcp_elapsed: {description: Seconds until the TCP port accepted a connection., type: float, returned: when the port opened}
probe_attempts: {description: Number of attempts (TCP and SQL)., type: int, returned: always}
server_version: {description: Version string reported by the server., type: str, returned: success}
error: {description: "C(timeout), C(auth) or C(config).", type: str, returned: failure}
last_error: {description: Last error seen before giving up., type: str, returned: failure}
"""

# MySQL/MariaDB error numbers that mean "the server is up and says no": not retried.
AUTH_ERRORS = {
    1044: "access denied to the database",
    1045: "access denied: user name or password not accepted",
    1130: "host not allowed to connect",
    1698: "access denied by the authentication plugin",
}
CONFIG_ERRORS = {
    1049: "unknown database",
}
FAIL_FAST_ERRORS = {**AUTH_ERRORS, **CONFIG_ERRORS}


class ProbeError(Exception):
    """Base class of the probe's errors; ``str()`` is the user-facing message."""

    kind = "error"

    def __init__(self, message, *, elapsed=0.0, attempts=0, last_error=None):
        super().__init__(message)
        self.message = message
        self.elapsed = elapsed
        self.attempts = attempts
        self.last_error = last_error


class ProbeTimeout(ProbeError):
    """The server did not answer within the overall timeout."""

    kind = "timeout"


class ProbeAuthError(ProbeError):
    """The server answered with an authentication/configuration error (not retried)."""

    kind = "auth"

    def __init__(self, message, *, errno=None, **kwargs):
        super().__init__(message, **kwargs)
        self.errno = errno
        if errno in CONFIG_ERRORS:
            self.kind = "config"


class ProbeResult:
    """Outcome of a successful probe."""

    def __init__(
        self, *, host, port, user, database, elapsed, tcp_elapsed, attempts, server_version=None
    ):
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.elapsed = elapsed
        self.tcp_elapsed = tcp_elapsed
        self.attempts = attempts
        self.server_version = server_version

    @property
    def message(self):
        version = f" (server {self.server_version})" if self.server_version else ""
        return (
            f"{self.host}:{self.port}/{self.database} answered SELECT 1 as {self.user} "
            f"after {self.elapsed:.1f} s{version}"
        )

    def as_dict(self):
        return {
            "msg": self.message,
            "elapsed": round(self.elapsed, 3),
            "tcp_elapsed": round(self.tcp_elapsed, 3),
            "probe_attempts": self.attempts,
            "server_version": self.server_version,
        }


def mysql_errno(exc):
    """Return the MySQL error number carried by a PyMySQL error, else None.

    PyMySQL errors are ``MySQLError(errno, message)``. Duck-typed so the module
    (and its tests) work without PyMySQL installed. OSErrors are never MySQL errors.
    """
    if isinstance(exc, OSError):
        return None
    args = getattr(exc, "args", ())
    if len(args) >= 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
        return args[0]
    return None


def describe_error(exc):
    """Short human-readable description of an attempt's error."""
    errno = mysql_errno(exc)
    if errno is not None:
        text = exc.args[1] if len(exc.args) > 1 else ""
        return f"MySQL error {errno}: {text}".rstrip(": ")
    if isinstance(exc, socket.gaierror):
        return f"name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        text = str(exc)
        return f"timed out ({text})" if text and text != "timed out" else "timed out"
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, OSError) else text


def _resolve(host, port, timeout):
    """getaddrinfo bounded by ``timeout`` (it has no timeout of its own)."""
    outcome = {}

    def work():
        try:
            outcome["addrs"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as exc:  # gaierror; UnicodeError for bad names
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="mysql_probe-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"resolving {host!r} took longer than {timeout:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addrs"]


def tcp_connect(host, port, timeout):
    """Return a socket connected to host:port; name resolution counts in ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    for family, socktype, proto, _name, addr in _resolve(host, port, timeout):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = socket.socket(family, socktype, proto)
        try:
            sock.settimeout(remaining)
            sock.connect(addr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            last = exc
            sock.close()
    raise last or TimeoutError(f"connecting to {host}:{port} took longer than {timeout:.1f} s")


def sql_select_one(connect, sock, host, port, user, password, database, timeout):
    """One authenticated ``SELECT 1`` over the connected ``sock``; returns the server version.

    The MySQL handshake runs on the socket the TCP phase opened (PyMySQL's
    ``defer_connect`` + ``connect(sock)``): one connection per attempt, and the server
    never logs an "Aborted connection" for a bare TCP check.
    """
    conn = connect(
        host=host,
        port=port,
        user=user,
        password=password,
        database=database,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        autocommit=None,  # keep the server's default: no extra round trip
        defer_connect=True,
    )
    try:
        conn.connect(sock)
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
        finally:
            cursor.close()
        if not row or row[0] != 1:
            raise RuntimeError(f"SELECT 1 returned {row!r}")
        get_info = getattr(conn, "get_server_info", None)
        version = get_info() if get_info else None
        # MariaDB announces itself as "5.5.5-10.11.x-MariaDB" for old clients.
        if isinstance(version, str) and version.startswith("5.5.5-"):
            version = version[len("5.5.5-") :]
        return version
    finally:
        # Closing a half-broken connection must not hide the outcome of the query.
        with contextlib.suppress(Exception):
            conn.close()


def _default_connect():
    import pymysql  # imported lazily: the module must import without PyMySQL

    return pymysql.connect


def probe(
    host,
    port,
    user,
    password,
    database,
    timeout=60.0,
    interval=0.1,
    delay=0.0,
    connect=None,
    clock=time.monotonic,
    sleep=time.sleep,
    tcp=None,
    attempt_timeout=2.0,
):
    """Wait for the TCP port, then for an authenticated ``SELECT 1`` on ``database``.

    Both phases share one overall ``timeout`` (seconds, counted from the call and
    including ``delay``); at least one attempt is always made. Returns a
    :class:`ProbeResult`; raises :class:`ProbeTimeout` or :class:`ProbeAuthError`.
    ``connect`` (PyMySQL-compatible, default ``pymysql.connect``), ``tcp`` (default
    :func:`tcp_connect`), ``clock`` and ``sleep`` are injectable.
    """
    if connect is None:
        connect = _default_connect()
    if tcp is None:
        tcp = tcp_connect
    start = clock()
    deadline = start + timeout
    target = f"{host}:{port}/{database}"
    if delay > 0:
        sleep(delay)

    attempts = 0
    tcp_elapsed = None
    last_error = None
    while True:
        attempts += 1
        per_attempt = max(0.05, min(attempt_timeout, deadline - clock()))
        sock = None
        try:
            sock = tcp(host, port, per_attempt)
            if tcp_elapsed is None:
                tcp_elapsed = clock() - start
            per_attempt = max(0.05, min(attempt_timeout, deadline - clock()))
            version = sql_select_one(
                connect, sock, host, port, user, password, database, per_attempt
            )
            return ProbeResult(
                host=host,
                port=port,
                user=user,
                database=database,
                elapsed=clock() - start,
                tcp_elapsed=tcp_elapsed,
                attempts=attempts,
                server_version=version,
            )
        except Exception as exc:  # noqa: BLE001 - anything but an auth error is retried
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
            last_error = describe_error(exc)
            errno = mysql_errno(exc)
            if errno in FAIL_FAST_ERRORS:
                what = "AUTHENTICATION error" if errno in AUTH_ERRORS else "CONFIGURATION error"
                raise ProbeAuthError(
                    f"{what}: {target} is up but refused user {user!r} on database "
                    f"{database!r} ({FAIL_FAST_ERRORS[errno]}; {last_error}). "
                    f"Check that the probe's credentials and database name are the ones "
                    f"the database container was initialised with (a reused data volume "
                    f"keeps the old ones). Not retried.",
                    errno=errno,
                    elapsed=clock() - start,
                    attempts=attempts,
                    last_error=last_error,
                ) from None

        remaining = deadline - clock()
        if remaining <= 0:
            waited = clock() - start
            if tcp_elapsed is not None:
                phase = (
                    f"the TCP port opened after {tcp_elapsed:.1f} s but SELECT 1 never succeeded"
                )
            elif last_error.startswith("name does not resolve"):
                phase = (
                    f"the name {host!r} never resolved (is the database container running, "
                    f"on the same network? see its logs)"
                )
            else:
                phase = "the TCP port never accepted a connection"
            raise ProbeTimeout(
                f"TIMEOUT: {target} (user {user!r}) did not answer SELECT 1 within "
                f"{timeout:g} s (waited {waited:.1f} s, {attempts} attempts): {phase}; "
                f"last error: {last_error}",
                elapsed=waited,
                attempts=attempts,
                last_error=last_error,
            )
        sleep(min(max(interval, 0.01), remaining))  # never a busy loop


ARGUMENT_SPEC = {
    "host": {"type": "str", "default": "db"},
    "port": {"type": "int", "default": 3306},
    "user": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "database": {"type": "str", "required": True},
    "timeout": {"type": "float", "default": 60.0},
    "interval": {"type": "float", "default": 0.1},
    "delay": {"type": "float", "default": 0.0},
    "attempt_timeout": {"type": "float", "default": 2.0},
}

# Where probe.yml reads the arguments a user is most likely to leave empty.
SOURCES = {"host": "PROBE_HOST", "user": "MYSQL_USER", "database": "MYSQL_DATABASE"}


def run_probe(params, connect=None):
    """The task's result for validated ``params``: an Ansible result dict, never an exception."""
    for name, variable in SOURCES.items():
        if not params[name]:
            return {
                "failed": True,
                "error": "config",
                "msg": f"mysql_probe: {name!r} is empty (probe.yml reads it from {variable})",
            }
    if connect is None:
        try:
            connect = _default_connect()
        except ImportError as exc:
            return {
                "failed": True,
                "error": "config",
                "msg": f"PyMySQL is not installed for ansible-playbook's interpreter: {exc}",
            }
    try:
        result = probe(
            params["host"],
            params["port"],
            params["user"],
            params["password"],
            params["database"],
            timeout=params["timeout"],
            interval=params["interval"],
            delay=params["delay"],
            connect=connect,
            attempt_timeout=params["attempt_timeout"],
        )
    except ProbeError as exc:
        return {
            "failed": True,
            "msg": exc.message,
            "error": exc.kind,
            "elapsed": round(exc.elapsed, 3),
            "probe_attempts": exc.attempts,
            "last_error": exc.last_error,
        }
    return {"changed": False, **result.as_dict()}


class ActionModule(ActionBase):
    """The ``mysql_probe`` task. Read-only, so it also probes in check mode."""

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # Types, defaults and unknown arguments, as a module's argument_spec would check them.
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result.update(run_probe(params))
        return result
