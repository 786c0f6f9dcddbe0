#!/bin/sh
# Runs inside PYTHON_IMAGE (make lock): resolves each requirements*.in into a lock that pins
# every dependency, direct or not, with the hashes pip then checks when the images install it.
set -eu
python -m venv /tmp/pip-tools
/tmp/pip-tools/bin/pip install --quiet pip-tools
compile() {
    /tmp/pip-tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --output-file "$2" "$1"
}
compile src/requirements.in src/requirements.txt
compile src/requirements-test.in src/requirements-test.txt
compile docker/agent/requirements.in docker/agent/requirements.txt
