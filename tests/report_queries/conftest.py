"""Fixtures shared by the modules of this package."""

import pytest

from tests.report_helpers import (
    make_manager,
)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def manager(db):
    return make_manager(name="Mona Manager", email="mona@example.com")


# --- data sets ----------------------------------------------------------------------------------
