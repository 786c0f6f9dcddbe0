#!/usr/bin/env bash
# Minimal stand-in for the official image's healthcheck.sh: succeeds only when
# an authenticated query over TCP works (a socket ping would also succeed
# against the temporary init server, and mariadb-admin ping even with wrong
# credentials). The official flags (--connect, --innodb_initialized, ...) are
# accepted and all mean the same here.
set -eu
user=${MARIADB_USER:-${MYSQL_USER:-}}
password=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}
if [ -z "$user" ]; then
	user=root
	password=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
fi
MYSQL_PWD=$password exec mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u "$user" \
	--connect-timeout=2 -e 'SELECT 1' >/dev/null
