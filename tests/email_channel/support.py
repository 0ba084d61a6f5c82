"""Customers' emails as their mail clients write them, made by the tests (no stored files)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from conversations.models import Conversation
from mail.addresses import reply_address

SUPPORT = "support@example.com"


def eml(
    *,
    sender: str = "Ann Customer <ann@example.com>",
    to: str = SUPPORT,
    subject: str = "My export is broken",
    text: str | None = "Hello, the export button does nothing.",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    """One email's raw bytes: text and/or HTML, threading headers, extra headers, files
    (filename, content type, data)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2025, 3, 10, 9, 0, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="client.example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


def reply_to(sent, *, text: str, sender: str = "Ann Customer <ann@example.com>", **extra) -> bytes:
    """The customer's mail client answering `sent` (a Django EmailMessage we sent): Re:
    subject, In-Reply-To and References, to its Reply-To, the old message quoted below."""
    message = sent.message()
    quoted = "\n".join(f"> {line}" for line in sent.body.splitlines())
    return eml(
        sender=sender,
        to=message["Reply-To"] or message["From"],
        subject=f"Re: {message['Subject']}".replace("Re: Re: ", "Re: "),
        text=f"{text}\n\nOn Mon, 10 Mar 2025 at 09:00, {message['From']} wrote:\n{quoted}\n",
        in_reply_to=message["Message-ID"],
        references=" ".join(filter(None, [message["References"], message["Message-ID"]])),
        **extra,
    )


def to_conversation(conversation: Conversation, **fields) -> bytes:
    """An email sent to the conversation's signed reply address, with no threading headers."""
    return eml(to=reply_address(conversation.pk), **fields)
