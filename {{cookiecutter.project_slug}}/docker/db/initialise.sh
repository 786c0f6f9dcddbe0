#!/bin/sh
# Build time only (docker/db/Dockerfile): the image's own entrypoint initialises the database
# from the MYSQL_* build arguments, then starts the real server; once the app's user can run a
# query over TCP, the server is shut down cleanly and its data directory stays in the image.
set -eu
{%- set server, client = ("mariadbd", "mariadb") if cookiecutter.database == "mariadb" else ("mysqld", "mysql") %}

docker-entrypoint.sh {{ server }} &
server=$!
until MYSQL_PWD=$MYSQL_PASSWORD {{ client }} --protocol=tcp -h 127.0.0.1 -u "$MYSQL_USER" \
        -e 'SELECT 1' "$MYSQL_DATABASE" >/dev/null 2>&1; do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "The database server exited while initialising: see its output above." >&2
        exit 1
    fi
    sleep 0.5
done
kill -TERM "$server"
wait "$server"
