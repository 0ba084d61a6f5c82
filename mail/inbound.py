"""Customers' mail into conversations: `mail_receive(message=…)`, fed by the IMAP poller, the
email provider's webhook and `manage.py mail_receive` alike.

- M6 A message joins the conversation whose part it answers (`In-Reply-To`, `References`),
  else the conversation its signed reply address names, else it starts one (origin customer,
  channel email) from its sender: an existing contact by address, else a new lead. It joins
  only a conversation its sender takes part in.
- M7 Its body is the newest reply, sanitised (`mail.content`).
- M8 Mail to a closed conversation reopens it (E6 still sends no second survey); to a snoozed
  one, wakes it (Z3): `conversation_reply` does both for a contact.
- M9 A text reply to the survey email is a reply in the conversation, never a rating.
- M10 The same message received twice is one part.
- M11 Auto-replies and bounces never open or answer anything; a bounce is recorded on what
  it bounced (`mail_bounced`).
- M12 Our own messages, fetched back, are ignored.
- M13 Whatever cannot be made a part is kept raw in `InboundFailure`, with the reason, to be
  retried: nothing received is lost, and no input stops the intake.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction

from conversations import clock
from conversations.models import Channel, Contact, Conversation, Origin, Part
from conversations.services import contact_create, conversation_reply, conversation_start
from mail.addresses import conversation_of_address, is_support_address
from mail.classify import bounce_reason, bounced_message_ids, header, is_automatic, is_bounce
from mail.content import clean_text, message_content
from mail.models import Attachment, InboundFailure
from mail.signals import mail_bounced
from mail.threading import is_ours, message_ids

logger = logging.getLogger(__name__)

RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
MAX_SUBJECT = 255


@dataclass(frozen=True)
class Received:
    """What became of a message: created (a new conversation), joined, duplicate, ignored
    (automatic, a bounce, our own) or failed (kept in `failure`)."""

    outcome: str
    reason: str = ""
    part: Part | None = None
    failure: InboundFailure | None = None

    @property
    def conversation_id(self) -> int | None:
        return self.part.conversation_id if self.part else None


class Refused(Exception):
    """The message cannot be made a part, for the reason given: it is kept raw."""


def _raw(message) -> bytes:
    if isinstance(message, bytes):
        return message
    if isinstance(message, str):
        return message.encode("utf-8", "surrogateescape")
    if isinstance(message, Message):
        try:
            return message.as_bytes(policy=email.policy.compat32)
        except Exception:  # noqa: BLE001 - a message the generator chokes on, as text
            return message.as_string(policy=email.policy.compat32).encode("utf-8", "replace")
    raise TypeError("mail_receive takes the message as bytes, text or an email Message.")


def mail_receive(*, message, source: str = InboundFailure.Source.COMMAND) -> Received:
    """Take one received message (its raw bytes, or a parsed email Message); never raises for
    what the message contains."""
    raw = _raw(message)
    if len(raw) > settings.INBOUND_MAX_BYTES:
        return _keep(raw, source, f"It is larger than INBOUND_MAX_BYTES ({len(raw)} bytes).")
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as error:  # noqa: BLE001 - unparseable input is kept, not raised
        return _keep(raw, source, f"It could not be parsed: {error}")
    try:
        try:
            with transaction.atomic():
                return _receive(parsed, raw)
        except IntegrityError:
            # Taken in at the same moment by another worker: now it is found received.
            with transaction.atomic():
                return _receive(parsed, raw)
    except (Refused, ValidationError) as refusal:
        reason = " ".join(refusal.messages) if isinstance(refusal, ValidationError) else refusal
        return _keep(raw, source, str(reason), parsed)
    except DatabaseError:
        raise  # the database is down: the caller leaves the message where it was
    except Exception as error:  # noqa: BLE001 - no message may stop the intake
        logger.exception("Inbound message could not be taken in")
        return _keep(raw, source, f"{type(error).__name__}: {error}", parsed)


def message_id_of(parsed: Message, raw: bytes) -> str:
    """The message's Message-ID, or one made from its bytes when it has none, so that the
    same message received twice is still recognised (M10)."""
    found = message_ids(header(parsed, "Message-ID"))
    if found:
        return found[0]
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:40]}@inbound.invalid>"


def _receive(parsed: Message, raw: bytes) -> Received:
    own_id = message_id_of(parsed, raw)
    if is_ours(own_id) or header(parsed, "X-CSAT-Conversation"):
        return Received("ignored", "It is a message this installation sent (M12).")
    if is_bounce(parsed):
        bounced = bounced_message_ids(parsed)
        mail_bounced.send(sender=Message, message_ids=bounced, reason=bounce_reason(parsed))
        return Received("ignored", "It is a bounce (M11).")
    if is_automatic(parsed):
        return Received("ignored", "It is an automatic reply or list mail (M11).")
    existing = Part.objects.filter(message_id=own_id).order_by("id").first()
    if existing is not None:
        return Received("duplicate", "It was received before (M10).", part=existing)
    name, address = _sender(parsed)
    if is_support_address(address):
        return Received("ignored", "It comes from the support address itself (M12).")
    content = message_content(parsed)
    contact = _contact(name, address)
    conversation = _conversation_for(parsed, contact)
    if conversation is not None:
        part = conversation_reply(
            conversation=conversation,
            author=contact,
            body=content.body,
            body_format=content.body_format,
            message_id=own_id,
        )
        outcome = "joined"
    else:
        started = conversation_start(
            channel=Channel.EMAIL,
            origin=Origin.CUSTOMER,
            contacts=[contact],
            started_by=contact,
            body=content.body,
            body_format=content.body_format,
            subject=_subject(parsed),
            message_id=own_id,
        )
        part = started.parts.get()
        outcome = "created"
    _store_files(part, content.files)
    return Received(outcome, part=part)


def _sender(parsed: Message) -> tuple[str, str]:
    name, address = parseaddr(header(parsed, "From"))
    address = address.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise Refused(f"It has no valid sender address (From: {address or 'none'}).") from None
    return clean_text(name).strip()[:200], address


def _contact(name: str, address: str) -> Contact:
    """M6: the contact with this address (the longest-known first), else a new lead."""
    contact = Contact.objects.filter(email__iexact=address).order_by("id").first()
    return contact or contact_create(role=Contact.Role.LEAD, name=name, email=address)


def _conversation_for(parsed: Message, contact: Contact) -> Conversation | None:
    """M6: the conversation the message answers, if its sender takes part in it."""
    answered = message_ids(header(parsed, "In-Reply-To")) + list(
        reversed(message_ids(header(parsed, "References")))
    )
    candidates = []
    if answered:
        parts = Part.objects.filter(message_id__in=answered).values_list(
            "message_id", "conversation_id"
        )
        by_id = dict(parts)
        candidates = [by_id[m] for m in answered if m in by_id]
    for name in RECIPIENT_HEADERS:
        for _display, address in getaddresses([header(parsed, name)]):
            conversation_id = conversation_of_address(address)
            if conversation_id is not None:
                candidates.append(conversation_id)
    for conversation_id in dict.fromkeys(candidates):
        conversation = Conversation.objects.filter(
            pk=conversation_id, channel=Channel.EMAIL, contacts=contact
        ).first()
        if conversation is not None:
            return conversation
    return None


def _subject(parsed: Message) -> str:
    subject = " ".join(header(parsed, "Subject").split())
    return subject[:MAX_SUBJECT]


def _store_files(part: Part, files) -> None:
    """M14: each file through Django's storage, up to ATTACHMENT_MAX_BYTES; a larger one is
    listed on the part without its content."""
    for file in files:
        attachment = Attachment(
            part=part,
            filename=file.filename,
            content_type=file.content_type[:100],
            size=len(file.data),
        )
        if len(file.data) <= settings.ATTACHMENT_MAX_BYTES:
            attachment.file.save(file.filename, ContentFile(file.data), save=False)
        attachment.save()


def failure_keep(*, raw: bytes, source: str, reason: str) -> Received:
    """M13: keep something received that could not even be read as a message (a provider's
    post its parser choked on), raw, with the reason."""
    return _keep(raw, source, reason)


def _keep(raw: bytes, source: str, reason: str, parsed: Message | None = None) -> Received:
    """M13: keep the message, raw, with why it was not taken in."""
    now = clock.now()
    failure = InboundFailure(
        received_at=now,
        last_attempt_at=now,
        source=source,
        reason=reason[:2000],
        size=len(raw),
        subject=_subject(parsed)[:255] if parsed is not None else "",
        sender=header(parsed, "From")[:255] if parsed is not None else "",
    )
    failure.raw.save("message.eml", ContentFile(raw), save=False)
    failure.save()
    logger.warning("Inbound message kept as failure %s: %s", failure.pk, reason)
    return Received("failed", reason, failure=failure)


def failure_retry(*, failure: InboundFailure) -> Received:
    """Try a kept message again (after a fix, or a larger INBOUND_MAX_BYTES): resolved when it
    becomes a part, or is found already received; otherwise its attempt and reason are
    updated and nothing else is kept."""
    with failure.raw.open("rb") as stored:
        raw = stored.read()
    result = mail_receive(message=raw, source=InboundFailure.Source.ADMIN)
    now = clock.now()
    if result.failure is not None:
        reason = result.failure.reason
        result.failure.raw.delete(save=False)
        result.failure.delete()  # the one kept already holds it
        InboundFailure.objects.filter(pk=failure.pk).update(
            attempts=failure.attempts + 1, last_attempt_at=now, reason=reason
        )
        return Received("failed", reason, failure=failure)
    InboundFailure.objects.filter(pk=failure.pk).update(
        attempts=failure.attempts + 1,
        last_attempt_at=now,
        resolved_at=now,
        resolved_part=result.part,
    )
    return result
