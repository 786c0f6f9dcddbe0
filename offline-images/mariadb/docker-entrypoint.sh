#!/usr/bin/env bash
# Entrypoint of offline/mariadb, a stand-in for the official mariadb and mysql
# images. It honours the part of their contract that projects rely on:
#   MARIADB_ROOT_PASSWORD / MYSQL_ROOT_PASSWORD (or *_ALLOW_EMPTY_*, *_RANDOM_*),
#   MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD and their MYSQL_* twins
#   (MARIADB_* wins when both are set; every one also accepts a *_FILE form),
#   MARIADB_INITDB_SKIP_TZINFO / MYSQL_INITDB_SKIP_TZINFO,
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz|*.sql.xz|*.sql.zst,
#   arguments starting with '-' are server options.
# Initialisation runs against a temporary server started with
# --skip-networking, so a TCP client only ever sees the fully initialised one.
set -Eeuo pipefail
shopt -s nullglob

# Exported for docker_process_sql in executed (not sourced) initdb.d scripts.
export SOCKET=/run/mysqld/mysqld.sock

log()  { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*"; }
warn() { printf '%s [Warn] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; }
die()  { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; exit 1; }

# env_pick OUT VAR...: the first of VAR, or the content of the file named by
# VAR_FILE, that is set; then export it under both the MARIADB_ and MYSQL_
# names so initdb.d scripts can use either spelling.
env_pick() {
	local out=$1 var file val=
	shift
	for var in "$@"; do
		file="${var}_FILE"
		if [ -n "${!var:-}" ]; then
			val=${!var}; break
		elif [ -n "${!file:-}" ]; then
			val=$(<"${!file}"); break
		fi
	done
	for var in "$@"; do
		export "$var=$val"
	done
	printf -v "$out" '%s' "$val"
}

# sql_string VALUE: VALUE escaped for a single-quoted SQL literal.
sql_string() {
	local v=${1//\\/\\\\}
	printf '%s' "${v//\'/\\\'}"
}

# Runs SQL from stdin as root over the temporary server's socket; the root
# password (once set) comes from an option file so it never shows in `ps`.
# Exported so that initdb.d scripts, sourced or executed, can use it too.
docker_process_sql() {
	local opts=()
	[ -n "${ENTRYPOINT_CLIENT_CNF:-}" ] && opts+=(--defaults-extra-file="$ENTRYPOINT_CLIENT_CNF")
	[ -n "${MARIADB_DATABASE:-}" ] && opts+=(--database="$MARIADB_DATABASE")
	mariadb "${opts[@]}" --protocol=socket --socket="$SOCKET" -uroot --batch --skip-column-names "$@"
}
export -f docker_process_sql

datadir_from_args() {
	local a dir=/var/lib/mysql
	for a in "$@"; do
		case "$a" in --datadir=*) dir=${a#--datadir=} ;; esac
	done
	printf '%s' "$dir"
}

temp_server_start() {
	log "Starting temporary server (socket only)"
	"$@" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM \
		--loose-wsrep-on=OFF --expire-logs-days=0 --skip-slave-start --skip-ssl \
		--loose-innodb-buffer-pool-load-at-startup=0 &
	TEMP_PID=$!
	local i
	for i in $(seq 1 600); do
		if mariadb --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
			log "Temporary server started"
			return 0
		fi
		kill -0 "$TEMP_PID" 2>/dev/null || die "temporary server exited during start-up (see above)"
		sleep 0.1
	done
	die "temporary server did not answer on $SOCKET within 60 s"
}

temp_server_stop() {
	log "Stopping temporary server"
	kill -TERM "$TEMP_PID"
	wait "$TEMP_PID" || die "temporary server did not shut down cleanly"
	TEMP_PID=
	log "Temporary server stopped"
}

run_initdb_d() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					log "running $f"; "$f"
				else
					log "sourcing $f"; . "$f"
				fi ;;
			*.sql)     log "running $f"; docker_process_sql <"$f" ;;
			*.sql.gz)  log "running $f"; gzip -dc "$f" | docker_process_sql ;;
			*.sql.xz)  log "running $f"; xz -dc "$f" | docker_process_sql ;;
			*.sql.zst) log "running $f"; zstd -dc "$f" | docker_process_sql ;;
			*)         log "ignoring $f" ;;
		esac
	done
}

init_database() {
	local datadir=$1 root_pw allow_empty random_pw skip_tz database user password
	shift
	env_pick root_pw     MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
	env_pick allow_empty MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD
	env_pick random_pw   MARIADB_RANDOM_ROOT_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD
	env_pick skip_tz     MARIADB_INITDB_SKIP_TZINFO MYSQL_INITDB_SKIP_TZINFO
	env_pick database    MARIADB_DATABASE MYSQL_DATABASE
	env_pick user        MARIADB_USER MYSQL_USER
	env_pick password    MARIADB_PASSWORD MYSQL_PASSWORD

	if [ -z "$root_pw" ] && [ -z "$allow_empty" ] && [ -z "$random_pw" ]; then
		die "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD
	and MARIADB_RANDOM_ROOT_PASSWORD (or their MYSQL_* equivalents)"
	fi
	if [ "$user" = root ]; then
		die "MARIADB_USER=root: MARIADB_USER/MARIADB_PASSWORD configure a regular user; use MARIADB_ROOT_PASSWORD for root"
	fi
	if [ -n "$user" ] && [ -z "$password" ]; then
		die "MARIADB_USER ($user) is set but MARIADB_PASSWORD is empty"
	fi
	if [ -n "$password" ] && [ -z "$user" ]; then
		warn "MARIADB_PASSWORD is set but MARIADB_USER is not: no user created"
	fi
	if [ -z "$root_pw" ] && [ -n "$random_pw" ]; then
		local rnd
		rnd=$(LC_ALL=C tr -dc 'A-Za-z0-9' < <(head -c 1024 /dev/urandom))
		root_pw=${rnd:0:32}
		export MARIADB_ROOT_PASSWORD=$root_pw MYSQL_ROOT_PASSWORD=$root_pw
		log "GENERATED ROOT PASSWORD: $root_pw"
	fi

	log "Initializing database files in $datadir"
	# Same shortcuts as the official image: no test db, no anonymous users, no
	# hostname lookups, no binlog; root gets a password below instead of
	# unix_socket authentication.
	mariadb-install-db --datadir="$datadir" --rpm --auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve \
		--default-time-zone=SYSTEM --skip-log-bin --expire-logs-days=0 \
		--loose-innodb-buffer-pool-load-at-startup=0 \
		--loose-innodb-buffer-pool-dump-at-shutdown=0 \
		"${@:2}" >/dev/null
	log "Database files initialized"

	temp_server_start "$@"

	if [ -z "$skip_tz" ] && [ -d /usr/share/zoneinfo ]; then
		log "Loading time zone tables (set MARIADB_INITDB_SKIP_TZINFO=1 to skip)"
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null \
			| MARIADB_DATABASE=mysql docker_process_sql
	fi

	local pw db us
	pw=$(sql_string "$root_pw")
	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		# Other root accounts mariadb-install-db creates would bypass the password.
		echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
		echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');"
		echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$pw');"
		echo "CREATE USER 'root'@'%' IDENTIFIED BY '$pw';"
		echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
		echo "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;"
		if [ -n "$database" ]; then
			db=${database//\`/\`\`}
			echo "CREATE DATABASE IF NOT EXISTS \`$db\`;"
		fi
		if [ -n "$user" ] && [ -n "$password" ]; then
			us=$(sql_string "$user")
			echo "CREATE USER '$us'@'%' IDENTIFIED BY '$(sql_string "$password")';"
			if [ -n "$database" ]; then
				echo "GRANT ALL ON \`$db\`.* TO '$us'@'%';"
			fi
		fi
	} | MARIADB_DATABASE= docker_process_sql
	if [ -n "$database" ]; then log "Created database $database"; fi
	if [ -n "$user" ] && [ -n "$password" ]; then log "Created user $user"; fi

	# From here on root needs its password.
	ENTRYPOINT_CLIENT_CNF=$(mktemp)
	export ENTRYPOINT_CLIENT_CNF
	local cnf_pw=${root_pw//\\/\\\\}
	printf '[client]\npassword="%s"\n' "${cnf_pw//\"/\\\"}" >"$ENTRYPOINT_CLIENT_CNF"

	run_initdb_d

	temp_server_stop
	rm -f "$ENTRYPOINT_CLIENT_CNF"
	unset ENTRYPOINT_CLIENT_CNF
	log "MariaDB init process done. Ready for start up."
}

# Until the server is exec'd, this script is PID 1, which gets no default
# SIGTERM action: without a trap `docker stop` would wait for its SIGKILL.
TEMP_PID=
on_stop_signal() {
	if [ -n "$TEMP_PID" ]; then
		kill -TERM "$TEMP_PID" 2>/dev/null || true
		wait "$TEMP_PID" 2>/dev/null || true
	fi
	exit 143
}

main() {
	trap on_stop_signal TERM INT
	# `docker run IMAGE --opt ...` / compose `command: ["--opt"]`: server options.
	if [ "${1:0:1}" = '-' ]; then
		set -- mariadbd "$@"
	fi
	case "$1" in
		mariadbd | mysqld) ;;
		*) exec "$@" ;;
	esac
	local a
	for a in "${@:2}"; do
		case "$a" in
			-'?' | --help | -V | --version | --print-defaults) exec "$@" ;;
		esac
	done

	local datadir
	datadir=$(datadir_from_args "$@")

	if [ "$(id -u)" = 0 ]; then
		# Volumes and tmpfs mounts arrive owned by root.
		mkdir -p "$datadir" /run/mysqld
		find "$datadir" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
		exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
	fi

	if [ ! -d "$datadir/mysql" ]; then
		init_database "$datadir" "$@"
	fi
	# The server becomes PID 1 and gets SIGTERM from `docker stop` directly.
	exec "$@"
}

main "$@"
