"""Replies mailed to the customer (M1–M5), exactly once.

- M1 Each teammate reply and bot message on an email conversation is mailed to its contacts.
- M2 The `OutboundEmail` row is written in the reply's own transaction (nothing is lost); its
  task is queued once that commits, and delivers it exactly once (`conversations.outbox`:
  the row's lock, `delivered_at`, retries with back-off); the sweep queues again what a lost
  task left undelivered; the part's Message-ID is fixed, so a message sent twice after a
  crash is one message in the customer's client.
- M3 Threading headers chain every message of the conversation (`mail.threading`).
- M4 From names the teammate ("Ann Lee via Support"); Reply-To is the conversation's signed
  address (`mail.addresses`).
- M5 Notes, events and anything on a Messenger conversation are never mailed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from redis.exceptions import RedisError

from conversations import clock
from conversations.models import Channel, Part
from conversations.outbox import deliver_once, due_for_retry, outbox_enqueue, with_reconnects
from conversations.text import body_readable_text
from mail.addresses import reply_address, sender
from mail.models import OutboundEmail
from mail.threading import part_message_id, thread_headers

logger = logging.getLogger(__name__)

SEND_TASK = "mail.outbound.outbound_email_send"
MAILED_KINDS = (Part.Kind.REPLY, Part.Kind.BOT)


def on_part_added(sender, part: Part, **kwargs) -> None:
    """Receiver of `part_added`, inside the part's transaction (M1, M2, M5)."""
    conversation = part.conversation
    if (
        conversation.channel != Channel.EMAIL
        or part.kind not in MAILED_KINDS
        or part.author_contact_id is not None
    ):
        return
    part.message_id = part_message_id(part)
    part.save(update_fields=["message_id"])
    outbound = OutboundEmail.objects.create(
        part=part, conversation=conversation, created_at=part.created_at
    )
    transaction.on_commit(lambda: outbound_enqueue(outbound_id=outbound.pk))


def outbound_enqueue(*, outbound_id: int) -> None:
    """Queue the delivery; a broker that cannot be reached leaves it to the sweep (M2)."""
    try:
        outbox_enqueue(SEND_TASK, outbound_id=outbound_id, task_name=f"mail-{outbound_id}")
    except RedisError:
        logger.warning("Email %s not queued (broker unreachable); the sweep will.", outbound_id)


def outbound_email_send(*, outbound_id: int) -> str:
    """The queued task (M2): deliver the email once; safe to run any number of times."""
    queryset = OutboundEmail.objects.select_related(
        "part__author_teammate", "conversation"
    ).prefetch_related("conversation__contacts")
    return with_reconnects(lambda: deliver_once(queryset, outbound_id, _send))


def outbound_sweep(*, now: datetime | None = None) -> int:
    """M2: queue again the emails left undelivered past the grace period, each after its
    growing pause. Returns how many were queued."""
    now = now or clock.now()
    stale = now - timedelta(seconds=settings.RATING_SWEEP_GRACE_SECONDS)
    due = due_for_retry(OutboundEmail.objects.all(), now=now, stale=stale, key="pk")
    for outbound_id in due:
        outbound_enqueue(outbound_id=outbound_id)
    return len(due)


def reply_email(outbound: OutboundEmail) -> EmailMultiAlternatives:
    """The email of a reply: HTML and plain text, threaded (M3), from the teammate (M4)."""
    part, conversation = outbound.part, outbound.conversation
    headers = thread_headers(conversation.pk, before=part)
    subject = " ".join(conversation.subject.split())
    subject = subject or f"Your conversation with {settings.SUPPORT_NAME}"
    if headers and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    teammate = part.author_teammate
    context = {
        "part": part,
        "conversation": conversation,
        "teammate": teammate,
        "support_name": settings.SUPPORT_NAME,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(
            "mail/reply.txt", {**context, "text": body_readable_text(part.body, part.body_format)}
        ),
        from_email=sender(teammate.name if teammate else None),
        to=[contact.email for contact in conversation.contacts.all()],
        reply_to=[reply_address(conversation.pk)],
        headers={"Message-ID": part.message_id, **headers},
    )
    message.attach_alternative(render_to_string("mail/reply.html", context), "text/html")
    return message


def _send(outbound: OutboundEmail, connection) -> str:
    message = reply_email(outbound)
    connection.open()
    message.connection = connection
    message.send()
    return f"emailed to {', '.join(message.to)}"
