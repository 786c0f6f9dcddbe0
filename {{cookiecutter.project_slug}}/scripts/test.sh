#!/usr/bin/env bash
# Runs inside the test container: the test suite, writing the JUnit and coverage reports to
# /reports. Its exit status is the tests' own; arguments go to pytest (make test ARGS="-k x").
set -euo pipefail

# The source tree belongs to root and the tests run as the app user: coverage keeps its data in /tmp.
export COVERAGE_FILE=/tmp/.coverage
# From the project root: pyproject.toml configures pytest and coverage.
cd "$(dirname "$0")/.."
# What make test's ARGS selected, for src/conftest.py to name when they select no test.
export TEST_ARGS="$*"

# --reuse-db: the test database is the app's own, created empty by the db image (the app's user
# may create no other); pytest-django migrates it instead of creating it.
exec pytest -p no:cacheprovider --reuse-db \
  --junitxml=/reports/unittests.xml \
  --cov --cov-report=term --cov-report=xml:/reports/coverage.xml \
  "$@"
