"""Fixtures shared by the modules of this package."""

import pytest


@pytest.fixture
def api(api_login, teammate):
    return api_login(teammate.user)
