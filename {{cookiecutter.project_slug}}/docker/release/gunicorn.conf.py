"""Gunicorn's settings in the release image; any of them can be overridden at run time with
GUNICORN_CMD_ARGS, e.g. GUNICORN_CMD_ARGS="--timeout 60"."""

import os

bind = "0.0.0.0:8000"
# WEB_CONCURRENCY sets the worker count; by default two per CPU the container may run on.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * len(os.sched_getaffinity(0)))
# Load the app once, before forking: a misconfigured release stops here with one error instead
# of workers failing one after another, and the workers share its memory.
preload_app = True
# A worker silent for this long is killed and replaced.
timeout = 30
# On SIGTERM (docker stop) the workers get this long to finish their requests.
graceful_timeout = 20
# Behind a load balancer that keeps connections open, stay open a little longer than it does.
keepalive = 5
# The root filesystem may be read-only: heartbeats go to memory, and no control socket is made.
worker_tmp_dir = "/dev/shm"
control_socket_disable = True
# Access and error logs to the console, where the platform collects them.
accesslog = "-"
errorlog = "-"
