#!/bin/sh
# mmdebstrap --customize-hook of the mariadb and mysql rootfs; $1 is its root directory.
set -eu
# Debian's postinst initialised a datadir with its own accounts: empty it, so that the
# entrypoint initialises it from the MYSQL_* environment on first start. Its log goes too.
for dir in "$1/var/lib/mysql" "$1/var/log/mysql"; do
	if [ -d "$dir" ]; then find "$dir" -mindepth 1 -delete; fi
done
# The official mariadb images (11.0 and later) have no mysql* programs: drop Debian's links.
if [ -e "$1/usr/sbin/mariadbd" ]; then
	rm -f "$1"/usr/bin/mysql* "$1"/usr/sbin/mysql*
fi
