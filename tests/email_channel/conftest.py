import os

import pytest

from tests.email_channel.dovecot import DOVECOT, Dovecot


@pytest.fixture(scope="session")
def dovecot_server():
    """One private Dovecot for the whole run (`tests/email_channel/dovecot.py`). The tests
    that need it skip when it is not installed (`.ci/run` installs dovecot-imapd); installed
    but unable to start is an error, with its log."""
    if not os.access(DOVECOT, os.X_OK):
        pytest.skip(f"Dovecot (dovecot-imapd) is not installed: {DOVECOT} is missing")
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server):
    """The private Dovecot with an empty INBOX and no other folder."""
    dovecot_server.reset()
    return dovecot_server
