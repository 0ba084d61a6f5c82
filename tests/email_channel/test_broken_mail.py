"""M13: broken mail, built here as bytes. No input raises: each message becomes a part (its
text made storable) or an `InboundFailure` with the reason and the raw bytes kept; the admin's
*Inbound failures* list them, and *Retry* takes one in once its cause is fixed, and leaves one
that still fails unresolved with one more attempt.
"""

import pytest
from django.contrib.messages import get_messages

from conversations.models import Conversation, Part
from mail.inbound import mail_receive
from mail.models import InboundFailure
from tests.email_channel.support import eml
from tests.factories import TeammateFactory

HEAD = b"From: Ann <ann@example.com>\r\nTo: support@example.com\r\nSubject: Help\r\n"


def _nested(depth: int) -> bytes:
    raw = HEAD
    for level in range(depth):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    raw += b"Content-Type: text/plain\r\n\r\ndeep text\r\n"
    for level in reversed(range(depth)):
        raw += b"--b%d--\r\n" % level
    return raw


# What each message becomes: ("created", the part's body) or ("failed", words of the reason).
CORPUS = {
    "a boundary that never comes": (
        HEAD + b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n--ABC\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--ABC--\r\n",
        ("failed", "The message is empty."),
    ),
    "a boundary never closed": (
        HEAD + b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n--XYZ\r\n'
        b"Content-Type: text/plain\r\n\r\nhello, unterminated\r\n",
        ("created", "hello, unterminated"),
    ),
    "an unknown charset, UTF-8 bytes": (
        HEAD + b"Content-Type: text/plain; charset=x-unknown\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xc3\xa9 ol\xc3\xa9\r\n",
        ("created", "Café olé"),
    ),
    "an unknown charset, Latin-1 bytes": (
        HEAD + b"Content-Type: text/plain; charset=x-unknown\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9\r\n",
        ("created", "Café"),
    ),
    "a wrong charset": (
        HEAD + b"Content-Type: text/plain; charset=us-ascii\r\n\r\nna\xc3\xafve\r\n",
        ("created", "naïve"),
    ),
    "NUL bytes in the body": (HEAD + b"\r\nnul\x00in\x00body\r\n", ("created", "nulinbody")),
    "NUL bytes in the headers": (
        b"From: Ann\x00 <ann@example.com>\r\nSubject: Hel\x00p\r\n\r\nbody\r\n",
        ("created", "body"),
    ),
    "8-bit bytes in the headers": (
        b"From: Jos\xc3\xa9 <jose@example.com>\r\nSubject: caf\xe9 \xff\r\n\r\nplain\r\n",
        ("created", "plain"),
    ),
    "an encoded word in an unknown charset": (
        b"From: a@example.com\r\nSubject: =?x-unknown?q?caf=E9?=\r\n\r\nbody\r\n",
        ("created", "body"),
    ),
    "broken base64": (
        HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"aGVsbG8gYmFzZTY0!!!===\r\n",
        ("created", "hello base64"),
    ),
    "a subject of 100 000 characters": (
        b"From: a@example.com\r\nSubject: " + b"L" * 100_000 + b"\r\n\r\nbody\r\n",
        ("created", "body"),
    ),
    "an empty body": (HEAD + b"\r\n", ("failed", "The message is empty.")),
    "only spaces": (HEAD + b"\r\n   \r\n\t\r\n", ("failed", "The message is empty.")),
    "no From": (
        b"To: support@example.com\r\nSubject: Anonymous\r\n\r\nWho am I?\r\n",
        ("failed", "It has no valid sender address (From: none)."),
    ),
    "a From that is no address": (
        b"From: not an address\r\nSubject: x\r\n\r\nbody\r\n",
        ("failed", "It has no valid sender address (From: not an address)."),
    ),
    "no headers at all": (b"\x00\xff\xfe garbage", ("failed", "no valid sender address")),
    "nothing": (b"", ("failed", "no valid sender address")),
    "3000 nested multiparts": (_nested(3000), ("failed", "could not be parsed")),
}


@pytest.mark.parametrize("raw, expected", CORPUS.values(), ids=CORPUS.keys())
def test_M13_broken_mail_is_a_part_or_kept_raw_with_the_reason(db, raw, expected):
    received = mail_receive(message=raw)

    outcome, words = expected
    assert received.outcome == outcome
    if outcome == "created":
        assert received.failure is None
        part = Part.objects.get()
        assert part.body == words
        conversation = part.conversation
        assert "\x00" not in conversation.subject + part.body
        assert len(conversation.subject) <= 255
        assert "\x00" not in conversation.contacts.get().name
        assert not InboundFailure.objects.exists()
    else:
        assert received.part is None
        assert not Part.objects.exists()
        assert not Conversation.objects.exists()
        failure = InboundFailure.objects.get()
        assert words in failure.reason
        assert failure.size == len(raw)
        assert failure.resolved_at is None
        with failure.raw.open("rb") as kept:
            assert kept.read() == raw


def test_M13_a_message_over_INBOUND_MAX_BYTES_is_kept_unread(db, settings):
    raw = eml(text="x" * 2000)
    settings.INBOUND_MAX_BYTES = len(raw) - 1

    received = mail_receive(message=raw)

    assert received.outcome == "failed"
    failure = received.failure
    assert failure.reason == f"It is larger than INBOUND_MAX_BYTES ({len(raw)} bytes)."
    assert (failure.subject, failure.sender) == ("", "")  # not even parsed
    with failure.raw.open("rb") as kept:
        assert kept.read() == raw

    settings.INBOUND_MAX_BYTES = len(raw)  # the boundary: exactly the limit is taken in
    assert mail_receive(message=raw).outcome == "created"


def test_M10_a_message_without_a_message_id_received_twice_is_one_part(db):
    raw = b"From: ann@example.com\r\nSubject: No id\r\n\r\nSame bytes twice.\r\n"
    first, again = mail_receive(message=raw), mail_receive(message=raw)
    assert (first.outcome, again.outcome) == ("created", "duplicate")
    assert again.part == first.part
    assert first.part.message_id.endswith("@inbound.invalid>")


# --- the Inbound failures admin -----------------------------------------------------------------

LIST = "/admin/mail/inboundfailure/"


@pytest.fixture
def superuser_client(client, db):
    boss = TeammateFactory(name="Ada Admin", email="ada@example.com")
    boss.user.is_superuser = True
    boss.user.save(update_fields=["is_superuser"])
    client.force_login(boss.user)
    return client


@pytest.fixture
def failures(db, settings):
    """One kept for a cause that can be fixed (its size), one that cannot (no sender)."""
    too_large = eml(sender="Big Ben <ben@example.com>", subject="Huge logs", text="log " * 500)
    settings.INBOUND_MAX_BYTES = 1000
    fixable = mail_receive(message=too_large).failure
    settings.INBOUND_MAX_BYTES = 5 * 1024 * 1024
    hopeless = mail_receive(message=CORPUS["no From"][0]).failure
    return fixable, hopeless


def _retry(client, *failures):
    ids = [str(failure.pk) for failure in failures]
    return client.post(LIST, {"action": "retry", "_selected_action": ids}, follow=True)


def test_M13_the_admin_lists_the_failures_with_their_reasons(superuser_client, failures):
    page = superuser_client.get(LIST).content.decode()
    assert "It is larger than INBOUND_MAX_BYTES" in page  # not read: no sender, no subject
    assert "Anonymous" in page
    assert "It has no valid sender address" in page

    fixable, _ = failures
    raw = superuser_client.get(f"{LIST}{fixable.pk}/raw/")
    assert raw.status_code == 200
    assert raw["Content-Disposition"] == f'attachment; filename="inbound-{fixable.pk}.eml"'
    assert b"".join(raw.streaming_content) == fixable.raw.open("rb").read()


def test_M13_retry_takes_in_what_was_fixed_and_counts_what_still_fails(
    superuser_client, failures, settings
):
    fixable, hopeless = failures
    settings.INBOUND_MAX_BYTES = 5 * 1024 * 1024  # the fix: a larger limit

    response = _retry(superuser_client, fixable, hopeless)

    assert response.status_code == 200
    words = [str(message) for message in get_messages(response.wsgi_request)]
    assert "1 message(s) taken in." in words
    assert "1 message(s) could still not be taken in: see why." in words
    fixable.refresh_from_db()
    assert fixable.resolved_at is not None
    assert fixable.attempts == 2
    part = fixable.resolved_part
    assert part.conversation.subject == "Huge logs"
    assert part.conversation.contacts.get().email == "ben@example.com"
    hopeless.refresh_from_db()
    assert (hopeless.resolved_at, hopeless.attempts) == (None, 2)
    assert hopeless.reason.startswith("It has no valid sender address")
    assert InboundFailure.objects.count() == 2  # a failed retry keeps no second copy

    # Retried again: the resolved one is left alone, the hopeless one counts another attempt.
    _retry(superuser_client, fixable, hopeless)
    assert Part.objects.count() == 1
    fixable.refresh_from_db()
    hopeless.refresh_from_db()
    assert (fixable.attempts, hopeless.attempts) == (2, 3)


def test_M13_a_message_retried_after_it_came_again_is_resolved_as_received(
    superuser_client, failures, settings
):
    fixable, _ = failures
    settings.INBOUND_MAX_BYTES = 5 * 1024 * 1024
    with fixable.raw.open("rb") as kept:
        first = mail_receive(message=kept.read())  # the provider delivered it again meanwhile

    _retry(superuser_client, fixable)

    fixable.refresh_from_db()
    assert fixable.resolved_at is not None
    assert fixable.resolved_part == first.part
    assert Part.objects.count() == 1


def test_M13_the_failures_are_for_superusers_only(client, failures):
    teammate = TeammateFactory(name="Tia Teammate", email="tia@example.com")
    client.force_login(teammate.user)
    fixable, _ = failures

    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{fixable.pk}/raw/").status_code == 403
    assert _retry(client, fixable).status_code == 403
    fixable.refresh_from_db()
    assert fixable.resolved_at is None
