"""Email as a channel: replies mailed to customers, customers' mail taken in.

- `OutboundEmail`: one per part mailed to the customer (M1), delivered exactly once (M2).
- `Attachment`: a file that came with a customer's message, stored through Django's storage
  and listed on its part for staff only (M14).
- `InboundFailure`: a message that could not be made a part, kept raw with the reason, to be
  retried from the admin (M13): nothing received is lost.
- `MailboxLease`: which worker polls a mailbox now, so that several never fetch it at once
  (M15).
- `SentMail`: in development, a message sent (and printed on the console), kept for the
  admin's *Sent mail* (`mail.devbox`).
"""

from __future__ import annotations

from django.db import models

from conversations.models import Conversation, Part
from conversations.outbox import Deliverable


class OutboundEmail(Deliverable):
    """A reply (or a bot message) of an email conversation, mailed to its contacts (M1)."""

    part = models.OneToOneField(Part, on_delete=models.CASCADE, related_name="outbound_email")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="outbound_emails"
    )
    created_at = models.DateTimeField()
    # M11: a delivery status notification for this message.
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweep: messages not delivered yet, oldest first.
            models.Index(
                fields=["created_at"],
                condition=models.Q(delivered_at__isnull=True),
                name="outbound_undelivered_idx",
            )
        ]
        verbose_name = "outbound email"

    def __str__(self):
        return f"Email of part {self.part_id} in #{self.conversation_id}"


def attachment_path(attachment: Attachment, filename: str) -> str:
    return f"attachments/{attachment.part.conversation_id}/{attachment.part_id}/{filename}"


class Attachment(models.Model):
    """M14: a file that came with a customer's message."""

    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    # Empty when the file was larger than ATTACHMENT_MAX_BYTES: listed, not stored.
    file = models.FileField(upload_to=attachment_path, max_length=500, blank=True)

    class Meta:
        ordering = ["part", "id"]

    def __str__(self):
        return self.filename

    @property
    def stored(self) -> bool:
        return bool(self.file)


class InboundFailure(models.Model):
    """M13: a received message that could not be made a part, kept raw with the reason."""

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP mailbox"
        WEBHOOK = "webhook", "Provider webhook"
        COMMAND = "command", "manage.py mail_receive"
        ADMIN = "admin", "Retried from the admin"

    received_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Source.choices)
    reason = models.TextField()
    raw = models.FileField(upload_to="inbound/failed/%Y/%m/", max_length=500)
    size = models.PositiveIntegerField()
    subject = models.CharField(max_length=255, blank=True)
    sender = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    last_attempt_at = models.DateTimeField()
    # Set when a retry made it a part (or found it already received).
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_part = models.ForeignKey(
        Part, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "inbound failure"
        permissions = [("retry_inboundfailure", "Can retry an inbound failure")]

    def __str__(self):
        return f"{self.subject or '(no subject)'} from {self.sender or 'unknown'}"


class MailboxLease(models.Model):
    """M15: the worker that polls `mailbox` until `expires_at`."""

    mailbox = models.CharField(max_length=255, unique=True)
    holder = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.mailbox} held by {self.holder}"


class SentMail(models.Model):
    """A message the development mail box (`mail.devbox.DevboxBackend`) kept: its parts as
    they were sent, to read in the admin. The last `mail.devbox.KEEP` are kept."""

    sent_at = models.DateTimeField()
    from_email = models.TextField(blank=True)
    # Every recipient (To, Cc and Bcc), comma-separated.
    to = models.TextField(blank=True)
    subject = models.TextField(blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    # The message's headers, one "Name: value" a line.
    headers = models.TextField(blank=True)
    # Attached files, one "name (type)" a line.
    attachments = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = "sent mail"
        verbose_name_plural = "sent mail"

    def __str__(self):
        return self.subject or "(no subject)"
