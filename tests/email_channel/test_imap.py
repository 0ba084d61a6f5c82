"""M15: the IMAP poller against a real, private Dovecot (`dovecot.py`); M10 and M13 as the
poller meets them. A message is flagged seen (or moved) only once `mail_receive` committed
its part or its kept failure; one worker polls a mailbox at a time, under a lease."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.test import override_settings

from conversations import clock
from conversations.models import Channel, Conversation, Part
from mail import imap
from mail.imap import imap_poll, lease_take, mailbox_from_url
from mail.models import InboundFailure, MailboxLease
from tests.email_channel.support import eml

pytestmark = pytest.mark.django_db(transaction=True)

SEEN = "\\Seen"


def _key(dovecot) -> str:
    return mailbox_from_url(dovecot.url).key


def _taken(count: int, dovecot) -> str:
    return f"{count} message(s) taken in from {_key(dovecot)}"


def test_M15_a_message_in_the_mailbox_becomes_a_conversation_then_is_flagged_seen(dovecot):
    uid = dovecot.append(eml(subject="Export broken", message_id="<first@client.example.net>"))

    assert imap_poll(url=dovecot.url) == _taken(1, dovecot)

    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.subject) == (Channel.EMAIL, "Export broken")
    part = conversation.parts.get()
    assert part.message_id == "<first@client.example.net>"
    assert "export button does nothing" in part.body
    assert SEEN in dovecot.flags()[uid]
    assert dovecot.uids(seen=False) == []
    # The lease is given back: another worker may poll at once.
    assert lease_take(_key(dovecot), "other")


def test_M6_M15_a_reply_in_the_mailbox_joins_the_conversation_it_answers(dovecot):
    dovecot.append(eml(message_id="<question@client.example.net>"))
    imap_poll(url=dovecot.url)
    dovecot.append(
        eml(
            subject="Re: My export is broken",
            text="Any news?",
            message_id="<again@client.example.net>",
            in_reply_to="<question@client.example.net>",
        )
    )

    assert imap_poll(url=dovecot.url) == _taken(1, dovecot)

    conversation = Conversation.objects.get()
    assert list(conversation.parts.order_by("id").values_list("message_id", flat=True)) == [
        "<question@client.example.net>",
        "<again@client.example.net>",
    ]
    assert dovecot.uids(seen=False) == []


def test_M15_move_takes_each_message_to_that_folder_instead_and_creates_it(dovecot):
    assert "Processed" not in dovecot.folders()
    uids = [dovecot.append(eml()), dovecot.append(eml(sender="bob@example.com"))]

    assert imap_poll(url=dovecot.url_for("INBOX", move="Processed")) == _taken(2, dovecot)

    assert Conversation.objects.count() == 2
    assert dovecot.uids() == []  # gone from INBOX, not merely flagged
    assert dovecot.folder_count("Processed") == len(uids)


def test_M15_move_into_a_folder_that_exists(dovecot):
    client = dovecot.connect()
    client.create("Done/Customers")
    client.logout()
    dovecot.append(eml())

    imap_poll(url=dovecot.url_for("INBOX", move="Done/Customers"))

    assert dovecot.uids() == []
    assert dovecot.folder_count("Done/Customers") == 1
    assert Part.objects.count() == 1


def test_M15_move_leaves_alone_what_a_person_marked_deleted_but_did_not_expunge(dovecot):
    """The server's MOVE, not COPY then EXPUNGE (which expunges every message marked
    deleted in the folder, not only the one moved)."""
    kept = dovecot.append(eml(subject="Marked deleted by a person"), seen=True)
    client = dovecot.connect()
    client.select("INBOX")
    client.uid("STORE", str(kept), "+FLAGS.SILENT", "(\\Deleted)")
    client.logout()
    dovecot.append(eml(sender="bob@example.com"))

    imap_poll(url=dovecot.url_for("INBOX", move="Processed"))

    assert dovecot.uids() == [kept]
    assert dovecot.folder_count("Processed") == 1


def test_M15_a_message_already_seen_is_not_taken(dovecot):
    dovecot.append(eml(subject="Read by a person"), seen=True)
    unseen = dovecot.append(eml(subject="Not read yet", sender="bob@example.com"))

    assert imap_poll(url=dovecot.url) == _taken(1, dovecot)

    assert list(Conversation.objects.values_list("subject", flat=True)) == ["Not read yet"]
    assert SEEN in dovecot.flags()[unseen]


def test_M15_a_database_error_leaves_the_message_unseen_and_the_next_poll_takes_it(
    dovecot, monkeypatch
):
    uid = dovecot.append(eml(message_id="<while-down@client.example.net>"))
    real, calls = imap.mail_receive, []

    def database_down_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("could not connect to server")
        return real(**kwargs)

    monkeypatch.setattr(imap, "mail_receive", database_down_once)

    with pytest.raises(OperationalError):
        imap_poll(url=dovecot.url)
    assert dovecot.uids(seen=False) == [uid]  # not flagged: nothing was committed
    assert Part.objects.count() == 0
    assert InboundFailure.objects.count() == 0
    assert MailboxLease.objects.get().expires_at <= clock.now()  # released all the same

    assert imap_poll(url=dovecot.url) == _taken(1, dovecot)
    assert list(Part.objects.values_list("message_id", flat=True)) == [
        "<while-down@client.example.net>"
    ]
    assert SEEN in dovecot.flags()[uid]


def test_M10_a_message_fetched_again_after_its_seen_flag_was_removed_is_one_part(dovecot):
    uid = dovecot.append(eml(message_id="<twice@client.example.net>"))
    imap_poll(url=dovecot.url)
    dovecot.unsee(uid)  # a person marks it unread, or the flag was lost in a crash

    assert imap_poll(url=dovecot.url) == _taken(1, dovecot)

    assert Part.objects.filter(message_id="<twice@client.example.net>").count() == 1
    assert Conversation.objects.count() == 1
    assert SEEN in dovecot.flags()[uid]


def test_M10_a_message_without_message_id_fetched_twice_is_one_part(dovecot):
    raw = b"From: Ann <ann@example.com>\r\nTo: support@example.com\r\nSubject: No id\r\n\r\nHi\r\n"
    uid = dovecot.append(raw)
    imap_poll(url=dovecot.url)
    dovecot.unsee(uid)

    imap_poll(url=dovecot.url)

    assert Part.objects.count() == 1


def test_M15_a_live_lease_of_another_worker_means_nothing_is_taken(dovecot):
    uid = dovecot.append(eml())
    assert lease_take(_key(dovecot), "other")

    assert imap_poll(url=dovecot.url) == "another worker is polling this mailbox"

    assert Conversation.objects.count() == 0
    assert dovecot.uids(seen=False) == [uid]
    assert MailboxLease.objects.get().holder == "other"  # still theirs


def test_M15_the_lease_of_a_worker_that_died_is_taken_over_once_expired(dovecot):
    dovecot.append(eml())
    assert lease_take(_key(dovecot), "dead worker")

    with time_machine.travel(clock.now() + timedelta(minutes=4)):
        assert imap_poll(url=dovecot.url) == "another worker is polling this mailbox"
    with time_machine.travel(clock.now() + imap.LEASE + timedelta(seconds=30)):
        assert imap_poll(url=dovecot.url) == _taken(1, dovecot)

    assert Conversation.objects.count() == 1
    assert MailboxLease.objects.get().holder != "dead worker"


def test_M15_a_poll_whose_lease_was_taken_over_stops_after_the_message_in_hand(
    dovecot, monkeypatch
):
    """Its holder was too slow (the lease ran out mid-poll) and another worker took it: the
    message in hand is finished, the rest is left to the other worker."""
    uids = [dovecot.append(eml(sender=f"c{n}@example.com")) for n in range(3)]
    real = imap.mail_receive

    def slow_then_overtaken(**kwargs):
        received = real(**kwargs)
        MailboxLease.objects.update(expires_at=clock.now())
        assert lease_take(_key(dovecot), "other")
        return received

    monkeypatch.setattr(imap, "mail_receive", slow_then_overtaken)

    assert imap_poll(url=dovecot.url) == _taken(1, dovecot)

    assert dovecot.uids(seen=False) == uids[1:]
    assert Part.objects.count() == 1
    lease = MailboxLease.objects.get()
    assert (lease.holder, lease.expires_at > clock.now()) == ("other", True)  # not released


def test_M15_a_poll_takes_at_most_limit_messages_the_oldest_first(dovecot):
    uids = [dovecot.append(eml(sender=f"c{n}@example.com", subject=f"No {n}")) for n in range(3)]

    assert imap_poll(url=dovecot.url, limit=2) == _taken(2, dovecot)
    assert dovecot.uids(seen=False) == uids[2:]
    assert sorted(Conversation.objects.values_list("subject", flat=True)) == ["No 0", "No 1"]

    assert imap_poll(url=dovecot.url, limit=2) == _taken(1, dovecot)
    assert dovecot.uids(seen=False) == []


def test_M13_a_malformed_message_is_kept_as_a_failure_and_flagged_seen(dovecot):
    """The kept failure is committed like a part: flagging it seen is right, and the messages
    behind it are taken in (no input stops the intake)."""
    garbage = dovecot.append(b"garbage\x00\xff")
    good = dovecot.append(eml(subject="After the garbage"))

    assert imap_poll(url=dovecot.url) == _taken(2, dovecot)

    failure = InboundFailure.objects.get()
    assert failure.source == InboundFailure.Source.IMAP
    assert "no valid sender" in failure.reason
    with failure.raw.open("rb") as stored:
        assert stored.read().startswith(b"garbage")
    assert list(Conversation.objects.values_list("subject", flat=True)) == ["After the garbage"]
    assert SEEN in dovecot.flags()[garbage]
    assert SEEN in dovecot.flags()[good]


def test_M13_a_message_with_raw_8_bit_headers_is_taken_in(dovecot):
    raw = (
        b"From: Zo\xe9 Caf\xe9 <zoe@example.com>\r\nTo: support@example.com\r\n"
        b"Subject: caf\xe9 cr\xe8me \x00br\xfbl\xe9e\r\nMessage-ID: <8bit@client.example.net>\r\n"
        b"Content-Type: text/plain; charset=latin-1\r\n\r\nBonjour, le caf\xe9 est froid.\r\n"
    )
    uid = dovecot.append(raw)

    assert imap_poll(url=dovecot.url) == _taken(1, dovecot)

    conversation = Conversation.objects.get()
    assert conversation.subject.startswith("caf")
    assert "\x00" not in conversation.subject
    assert "café est froid" in conversation.parts.get().body
    assert SEEN in dovecot.flags()[uid]


@pytest.mark.django_db
@override_settings(INBOUND_IMAP_URL="")
def test_M15_no_mailbox_set_means_no_poll_and_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert imap_poll() == "no mailbox (INBOUND_IMAP_URL is not set)"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "imaps://ann:secret@imap.example.com/INBOX",
            ("imaps", "imap.example.com", 993, "ann", "secret", "INBOX", ""),
        ),
        (
            "imaps://ann:secret@imap.example.com:1993",
            ("imaps", "imap.example.com", 1993, "ann", "secret", "INBOX", ""),
        ),
        (
            "imap+starttls://ann%40example.com:p%40ss%3Aw%2Frd%20x@mail.example.com/"
            "Support%20Mail?move=Done%2FCustomers",
            (
                "imap+starttls",
                "mail.example.com",
                143,
                "ann@example.com",
                "p@ss:w/rd x",
                "Support Mail",
                "Done/Customers",
            ),
        ),
        (
            "imap://u:p@127.0.0.1:1143/INBOX?move=Processed",
            ("imap", "127.0.0.1", 1143, "u", "p", "INBOX", "Processed"),
        ),
        ("imap://u@localhost", ("imap", "localhost", 143, "u", "", "INBOX", "")),
    ],
)
def test_M15_mailbox_from_url_reads_scheme_port_user_password_folder_and_move(url, expected):
    mailbox = mailbox_from_url(url)

    assert (
        mailbox.scheme,
        mailbox.host,
        mailbox.port,
        mailbox.user,
        mailbox.password,
        mailbox.folder,
        mailbox.move_to,
    ) == expected
    # The lease names the mailbox without its password.
    assert mailbox.key == f"{mailbox.scheme}://{mailbox.user}@{mailbox.host}:{mailbox.port}/" + (
        mailbox.folder
    )


@pytest.mark.parametrize(
    "url",
    [
        "pop3://ann:secret@mail.example.com/",
        "https://ann:secret@mail.example.com/",
        "imap4://ann:secret@mail.example.com/",
        "mail.example.com",
        "imaps://imap.example.com/INBOX",  # no user
        "imaps://ann:secret@/INBOX",  # no host
    ],
)
def test_M15_mailbox_from_url_refuses_other_schemes_and_incomplete_urls(url):
    with pytest.raises(ImproperlyConfigured):
        mailbox_from_url(url)
