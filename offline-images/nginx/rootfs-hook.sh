#!/bin/sh
# mmdebstrap --customize-hook of the nginx rootfs; $1 is its root directory.
set -eu
# As in the official image: the only site is conf.d/default.conf (the Dockerfile's), and the
# logs go to the container's stdout and stderr.
rm -f "$1"/etc/nginx/sites-enabled/*
ln -sf /dev/stdout "$1"/var/log/nginx/access.log
ln -sf /dev/stderr "$1"/var/log/nginx/error.log
