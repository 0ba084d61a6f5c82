"""Fixtures shared by the modules of this package."""

import pytest

from tests.rating_pages.support import _requested


@pytest.fixture
def rating_request(teammate):
    return _requested(teammate)


# --- GET never writes ------------------------------------------------------------------------
