#!/bin/sh
# The official dind image's start, without TLS: dockerd on its unix socket and on tcp 2375, with
# the arguments given, then those in DOCKERD_EXTRA_ARGS (a stand-in's own: a GitLab service gets
# the job's variables, so a test can add e.g. --insecure-registry HOST:PORT without a command:).
set -eu
if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
	echo "This docker:28-dind stand-in serves no TLS: set DOCKER_TLS_CERTDIR to an empty value" \
		"(the engine then listens on tcp 2375)." >&2
	exit 1
fi
# shellcheck disable=SC2086 # DOCKERD_EXTRA_ARGS is a list of arguments
exec dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@" ${DOCKERD_EXTRA_ARGS:-}
