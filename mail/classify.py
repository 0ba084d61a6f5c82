"""M11: mail that no person wrote: auto-replies, list mail and bounces.

None of it opens, reopens or answers a conversation (an out-of-office answering our reply,
answered in turn, would loop forever). A bounce of something we sent is recorded on it.
"""

from __future__ import annotations

import re
from email.message import Message

from mail.content import clean_text
from mail.threading import message_ids

AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.I | re.M)


def header(message: Message, name: str) -> str:
    """A header as text, whatever its encoding; empty when missing or unreadable. Each header
    is parsed once per message (the email package parses it again on every read)."""
    cache = message.__dict__.setdefault("_csat_headers", {})
    key = name.lower()
    if key not in cache:
        try:
            value = message.get(name)
        except Exception:  # noqa: BLE001 - a header the parser cannot read is no header
            value = None
        cache[key] = clean_text(value).strip() if value is not None else ""
    return cache[key]


def is_bounce(message: Message) -> bool:
    """A delivery status notification: a report, a null return path, a mailer daemon."""
    if message.get_content_type() == "multipart/report":
        return True
    if header(message, "Return-Path").replace(" ", "") == "<>":
        return True
    sender = header(message, "From").lower()
    return any(marker in sender for marker in BOUNCE_SENDERS)


def is_automatic(message: Message) -> bool:
    """An auto-reply or list mail (RFC 3834 `Auto-Submitted`, `Precedence`, `X-Autoreply`)."""
    submitted = header(message, "Auto-Submitted").lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return True
    if header(message, "Precedence").lower() in AUTO_PRECEDENCE:
        return True
    if header(message, "List-Id") or header(message, "List-Unsubscribe"):
        return True
    return any(header(message, name) for name in AUTO_HEADERS)


def bounced_message_ids(message: Message) -> list[str]:
    """The Message-IDs of the messages a bounce reports on: from the returned headers or
    message it carries, else from its References."""
    found = []
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list):
                for inner in payload:
                    if isinstance(inner, Message):
                        found.extend(message_ids(header(inner, "Message-ID")))
            else:
                text = part.get_payload(decode=True) or b""
                found.extend(m.group(1) for m in _MESSAGE_ID_LINE.finditer(clean_text(text)))
    if not found:
        found = message_ids(header(message, "In-Reply-To")) + message_ids(
            header(message, "References")
        )
    return list(dict.fromkeys(found))


def bounce_reason(message: Message) -> str:
    """The first lines of the notification's human-readable part."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True) or b""
            lines = [line.strip() for line in clean_text(text).splitlines() if line.strip()]
            return " ".join(lines[:4])[:500]
    return header(message, "Subject")[:500]
