"""Fixtures every layer of the template's tests shares; the helpers live in tests/support.py."""

import pytest

from tests.support import baked


@pytest.fixture(scope="session")
def default_project(cookies_session):
    """The project baked with every default answer, shared by the tests that only read it."""
    return baked(cookies_session.bake())
