"""M15: customers' mail from a mailbox, polled over IMAP (imap-tools) by a schedule.

`INBOUND_IMAP_URL` names the mailbox: `imaps://user:password@imap.example.com/INBOX` (TLS,
port 993 by default), `imap+starttls://…` (port 143, then STARTTLS) or `imap://…` (no TLS:
a server on the same machine only). `?move=Processed` moves each message taken in to that
folder (created when missing) instead of flagging it seen.

Each unseen message is fetched without being marked, handed to `mail_receive` (which commits
its part, or keeps it as an inbound failure) and only then flagged seen (or moved): a crash
in between fetches it again, and `mail_receive` finds it received already (M10). One worker
polls a mailbox at a time, under a lease (`MailboxLease`) that several worker machines share
through the database; a lease whose holder died expires.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError
from django.db.models import Q
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags

from conversations import clock
from mail.inbound import mail_receive
from mail.models import InboundFailure, MailboxLease

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BATCH = 200  # messages per poll: the lease is renewed between them
TIMEOUT = 30  # seconds for the IMAP connection
SCHEMES = {
    "imaps": (MailBox, 993),
    "imap+starttls": (MailBoxStartTls, 143),
    "imap": (MailBoxUnencrypted, 143),
}


@dataclass(frozen=True)
class Mailbox:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    folder: str
    move_to: str = ""

    @property
    def key(self) -> str:
        """Names the mailbox without its password (the lease's key)."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"[:255]


def mailbox_from_url(url: str) -> Mailbox:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ImproperlyConfigured(
            f"INBOUND_IMAP_URL must start with {', '.join(f'{s}://' for s in SCHEMES)}."
        )
    if not parts.hostname or not parts.username:
        raise ImproperlyConfigured("INBOUND_IMAP_URL names a host, a user and a password.")
    move_to = parse_qs(parts.query).get("move", [""])[0]
    return Mailbox(
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or SCHEMES[parts.scheme][1],
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        move_to=move_to,
    )


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def lease_take(key: str, holder: str) -> bool:
    """M15: the mailbox is `holder`'s for LEASE, unless another holder's lease still runs."""
    now = clock.now()
    taken = (
        MailboxLease.objects.filter(mailbox=key)
        .filter(Q(expires_at__lte=now) | Q(holder=holder))
        .update(holder=holder, expires_at=now + LEASE)
    )
    if taken:
        return True
    try:
        MailboxLease.objects.create(mailbox=key, holder=holder, expires_at=now + LEASE)
    except IntegrityError:
        return False  # held by another worker
    return True


def lease_release(key: str, holder: str) -> None:
    MailboxLease.objects.filter(mailbox=key, holder=holder).update(expires_at=clock.now())


def _connect(mailbox: Mailbox):
    cls, _port = SCHEMES[mailbox.scheme]
    client = cls(mailbox.host, mailbox.port, timeout=TIMEOUT)
    client.login(mailbox.user, mailbox.password, initial_folder=mailbox.folder)
    # Servers name some extensions (MOVE) only once logged in; imaplib keeps the greeting's,
    # and without MOVE imap-tools copies, then EXPUNGEs every message marked deleted.
    status, data = client.client.capability()
    if status == "OK" and data and data[-1]:
        client.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    return client


def _raw(client, uid: str) -> bytes | None:
    """The message's bytes as the server holds them, without setting its \\Seen flag."""
    status, data = client.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def imap_poll(*, url: str | None = None, limit: int = BATCH) -> str:
    """The scheduled task: take in the mailbox's unseen messages, at most `limit`."""
    url = settings.INBOUND_IMAP_URL if url is None else url
    if not url:
        return "no mailbox (INBOUND_IMAP_URL is not set)"
    mailbox = mailbox_from_url(url)
    holder = _holder()
    if not lease_take(mailbox.key, holder):
        return "another worker is polling this mailbox"
    taken = 0
    try:
        with _connect(mailbox) as client:
            if mailbox.move_to and not client.folder.exists(mailbox.move_to):
                # Else every move fails after its part was committed: the first message is
                # fetched again (a duplicate) and stops the intake on every poll.
                client.folder.create(mailbox.move_to)
            uids = list(client.uids(AND(seen=False)))[:limit]
            for uid in uids:
                raw = _raw(client, uid)
                if raw is None:
                    continue
                mail_receive(message=raw, source=InboundFailure.Source.IMAP)
                # Only now that the part (or the kept failure) is committed (M15).
                if mailbox.move_to:
                    client.move(uid, mailbox.move_to)
                else:
                    client.flag(uid, MailMessageFlags.SEEN, True)
                taken += 1
                if not lease_take(mailbox.key, holder):
                    break  # the lease was lost: the other holder goes on
    finally:
        lease_release(mailbox.key, holder)
    return f"{taken} message(s) taken in from {mailbox.key}"
