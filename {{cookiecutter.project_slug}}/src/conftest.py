"""Hooks for the whole test session."""

import gc
import os

import pytest

# scripts/test.sh keeps the container's stdin there: pytest takes fd 0 over while it captures.
VERDICT_FD = 3


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Under `make test`, hold the session until the agent has found the database ready.

    `make test` starts this container while the agent is still probing, so that Python, pytest,
    its plugins and Django load in the meantime. It sets WAIT_FOR_AGENT=1 and writes the agent's
    verdict to stdin: the line "ready" once the database answers, else nothing (end-of-file).
    Nothing has touched the database before this point, and the session's clock (the JUnit
    report's time included) starts after it.
    """
    if os.environ.get("WAIT_FOR_AGENT") != "1":
        return
    try:
        with open(VERDICT_FD, closefd=True) as verdicts:
            verdict = verdicts.readline().strip()
    except OSError as error:
        raise pytest.UsageError(
            f"WAIT_FOR_AGENT=1 but fd {VERDICT_FD} cannot be read ({error}): "
            "run the tests through scripts/test.sh, or unset WAIT_FOR_AGENT"
        ) from None
    if verdict != "ready":
        pytest.exit(
            "the agent did not report the database ready, so no test was run",
            returncode=pytest.ExitCode.INTERRUPTED,
        )


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Spare the interpreter its last garbage collection, about 0.1 s of every run's exit.

    The reports are written and closed by now, and the process is about to end: what a final
    collection would free, the operating system frees anyway.
    """
    gc.freeze()
