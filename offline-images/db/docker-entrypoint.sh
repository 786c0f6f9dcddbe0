#!/usr/bin/env bash
# Entrypoint of the mariadb and mysql stand-ins: the part of the official mariadb and mysql
# images' contract that the generated projects use.
# - MYSQL_ROOT_PASSWORD (needed to initialise), MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD,
#   MYSQL_INITDB_SKIP_TZINFO; in the mariadb stand-in their MARIADB_* spellings too (those win);
#   each of the first four also from the file its *_FILE twin names.
# - A datadir without a mysql/ folder is initialised by a temporary server started with
#   --skip-networking: nothing answers on TCP before the database and users exist.
# - Arguments starting with '-' are server options; other commands run as they are.
# - Started as root, it runs the server as the mysql user.
set -euo pipefail

if command -v mariadbd >/dev/null; then
	server=mariadbd client=mariadb tzinfo_to_sql=mariadb-tzinfo-to-sql temp_options=()
else
	# No X Protocol listener on port 33060 during the initialisation either.
	server=mysqld client=mysql tzinfo_to_sql=mysql_tzinfo_to_sql temp_options=(--mysqlx=OFF)
fi
init_socket=/run/mysqld/init.sock

log() { printf '%s [Entrypoint]: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}
# The *_FILE twins, as in the official images (Docker secrets): MYSQL_PASSWORD_FILE=/run/secrets/pw
# sets MYSQL_PASSWORD to that file's content.
for name in ROOT_PASSWORD DATABASE USER PASSWORD; do
	for variable in "MYSQL_$name" "MARIADB_$name"; do
		file=${variable}_FILE
		[ -n "${!file:-}" ] || continue
		[ -z "${!variable:-}" ] || die "both $variable and $file are set: give one of them"
		[ -r "${!file}" ] || die "$file names ${!file}, which is not a readable file"
		export "$variable=$(<"${!file}")"
		unset "$file"
	done
done

# setting NAME: $MARIADB_NAME (MariaDB only) or else $MYSQL_NAME.
setting() {
	local mariadb=MARIADB_$1 mysql=MYSQL_$1
	if [ "$server" = mariadbd ] && [ -n "${!mariadb:-}" ]; then
		printf '%s' "${!mariadb}"
	else
		printf '%s' "${!mysql:-}"
	fi
}
# VALUE as a single-quoted SQL string; NAME as a quoted identifier.
sql_string() {
	local value=${1//\\/\\\\}
	printf "'%s'" "${value//\'/\\\'}"
}
sql_name() {
	local name=${1//\`/\`\`}
	printf '%s' "\`$name\`"
}
sql() { "$client" --protocol=socket --socket="$init_socket" -uroot "$@"; }

# initialise DATADIR SERVER [OPTION...]
initialise() {
	local datadir=$1 root_password database user password pid
	shift
	root_password=$(setting ROOT_PASSWORD) database=$(setting DATABASE)
	user=$(setting USER) password=$(setting PASSWORD)
	[ -n "$root_password" ] || die "$datadir is empty and MYSQL_ROOT_PASSWORD is not set"
	[ -z "$user" ] || [ -n "$password" ] || die "MYSQL_USER is set but MYSQL_PASSWORD is not"

	log "Initialising $datadir"
	if [ "$server" = mariadbd ]; then
		mariadb-install-db --datadir="$datadir" --rpm --auth-root-authentication-method=normal \
			--skip-test-db --skip-log-bin "${@:2}" >/dev/null
	else
		"$@" --initialize-insecure --default-time-zone=SYSTEM
	fi
	"$@" --skip-networking --socket="$init_socket" --default-time-zone=SYSTEM "${temp_options[@]}" &
	pid=$!
	# Until the real server is exec'd this script is PID 1: without a trap `docker stop` would
	# wait for its timeout.
	trap 'kill "$pid"; wait "$pid"; exit 143' TERM INT
	until sql -e 'SELECT 1' >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || die "the temporary server exited (see above)"
		sleep 0.1
	done

	if [ -z "$(setting INITDB_SKIP_TZINFO)" ]; then
		{
			echo 'SET @@SESSION.SQL_LOG_BIN=0;'
			"$tzinfo_to_sql" /usr/share/zoneinfo 2>/dev/null
		} | sql mysql
	fi
	{
		echo 'SET @@SESSION.SQL_LOG_BIN=0;'
		# mariadb-install-db also makes these root accounts; root keeps localhost and '%'.
		echo "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@$(sql_string "$HOSTNAME");"
		echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
		echo "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$root_password");"
		echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
		if [ -n "$database" ]; then
			echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$database");"
		fi
		if [ -n "$user" ]; then
			echo "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
			if [ -n "$database" ]; then
				echo "GRANT ALL ON $(sql_name "$database").* TO $(sql_string "$user")@'%';"
			fi
		fi
	} | sql

	kill "$pid"
	wait "$pid"
	trap - TERM INT
	log "Initialised $datadir: starting the server"
}

# `docker run IMAGE --option=value`: options for the server.
case "${1:-}" in -*) set -- "$server" "$@" ;; esac
# Any other command, and the server's --help or --version, runs as it is.
[ "${1:-}" = "$server" ] || exec "$@"
for arg; do
	case "$arg" in --help | -'?' | --version | -V) exec "$@" ;; esac
done

# The datadir from the config files and the arguments, as the official entrypoints read it.
datadir=$("$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }')
[ -n "$datadir" ] || die "'$* --verbose --help' does not tell the datadir: are the options right?"

if [ "$(id -u)" = 0 ]; then
	# Volumes and tmpfs mounts come owned by root.
	mkdir -p "$datadir" /run/mysqld
	find "$datadir" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
	exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
if [ ! -d "$datadir/mysql" ]; then
	initialise "$datadir" "$@"
fi
exec "$@"
