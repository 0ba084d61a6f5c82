"""Fixtures shared by the modules of this package."""

import pytest

from tests.rating_answers.support import _requested, token_for


@pytest.fixture
def request_(teammate, django_capture_on_commit_callbacks):
    return _requested(django_capture_on_commit_callbacks, teammate)


@pytest.fixture
def token(request_):
    return token_for(request_)
