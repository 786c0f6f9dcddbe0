"""Ansible action plugin: wait until a MySQL/MariaDB server answers an authenticated SELECT 1.

An action plugin runs inside ansible-playbook's own process, with no module process to start
for the task (Ansible's own wait_for_connection is one for the same reason).
"""

import time

import pymysql

try:
    from ansible.errors import AnsibleActionFail
    from ansible.plugins.action import ActionBase
except ImportError:  # the unit tests import probe() without Ansible
    ActionBase = object

# The server is up and says no: waiting longer cannot change its answer.
REFUSALS = {
    1044: "access to the database denied to this user",
    1045: "user name or password not accepted",
    1049: "unknown database",
    1130: "this host may not connect",
    1698: "access denied by the authentication plugin",
}


ARGUMENTS = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "required": True},
    "database": {"type": "str", "required": True},
    "user": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "timeout": {"type": "float", "required": True},
    "interval": {"type": "float", "required": True},
}


class ProbeFailed(Exception):
    """The database refused, or did not answer in time; the message says which."""


def probe(host, port, database, user, password, timeout, interval, connect=pymysql.connect):
    """Poll until SELECT 1 succeeds; return (seconds waited, server version)."""
    target = f"database {database!r} as {user!r} on {host}:{port}"
    started = time.monotonic()
    last_error = "no attempt finished"
    while True:
        remaining = timeout - (time.monotonic() - started)
        try:
            connection = connect(
                host=host, port=port, user=user, password=password, database=database,
                connect_timeout=max(1, min(5, remaining)), read_timeout=5,
            )  # fmt: skip
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                return time.monotonic() - started, connection.get_server_info()
        except pymysql.MySQLError as error:
            code = error.args[0] if error.args else None
            if code in REFUSALS:
                raise ProbeFailed(
                    f"{target} refused: {REFUSALS[code]} (MySQL error {code}); "
                    "check the credentials the agent and the database were given"
                ) from None
            last_error = str(error)
        if time.monotonic() - started + interval >= timeout:
            raise ProbeFailed(
                f"{target} did not answer SELECT 1 within {timeout:g} s; last error: {last_error}"
            )
        time.sleep(interval)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        try:
            waited, version = probe(**args)
        except ProbeFailed as error:
            raise AnsibleActionFail(str(error)) from None
        result["msg"] = (
            f"{args['host']}:{args['port']} answered SELECT 1 as {args['user']} on "
            f"{args['database']} after {waited:.1f} s ({version})"
        )
        return result
