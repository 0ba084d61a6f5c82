"""Fixtures shared by the modules of this package."""

import pytest

from conversations import services


@pytest.fixture
def close(django_capture_on_commit_callbacks):
    """Close as a teammate does: commit, then run the on-commit receiver (and so the task)."""

    def _close(conversation, by, *, quiet=False):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = services.conversation_close(conversation=conversation, by=by, quiet=quiet)
        assert len(callbacks) == 1
        return result

    return _close
