#!/usr/bin/env bash
# Runs inside the test container: the test suite (system checks and the migrations check
# included, as tests), writing the JUnit and coverage reports to $REPORTS_DIR. Its exit status
# is the tests' own.
set -euo pipefail

reports_dir=${REPORTS_DIR:-/reports}
# The source tree belongs to root and the tests run as the app user: coverage keeps its data in /tmp.
export COVERAGE_FILE=${COVERAGE_FILE:-/tmp/.coverage}
cd "$(dirname "$0")/../src"

# make test starts this container while the agent is still probing and writes the agent's verdict
# to its stdin (WAIT_FOR_AGENT=1). pytest takes fd 0 over while it captures, so conftest.py reads
# the verdict from fd 3.
[ "${WAIT_FOR_AGENT:-}" != 1 ] || exec 3<&0

# --reuse-db: the test database is the app's own (its user may create no other); keeping it lets
# make test run again against the same database without make clean in between.
exec pytest -p no:cacheprovider --reuse-db \
  --junitxml="$reports_dir/unittests.xml" \
  --cov --cov-report=term --cov-report=xml:"$reports_dir/coverage.xml" \
  "$@"
