"""What the API keeps: idempotency keys of creates, and the webhooks with their outbox.

`WebhookDelivery` is an outbox: one row per (webhook, rating event), written in the same
transaction as the rating, change or comment it announces (see `api.webhooks`), so a
delivery is never lost nor sent for an answer that was refused.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator, URLValidator
from django.db import models

from conversations import clock
from conversations.encryption import EncryptedTextField
from conversations.models import Conversation
from ratings.models import RatingEvent


class IdempotencyKey(models.Model):
    """A create made with an `Idempotency-Key` header: the same key (per user and operation)
    creates once; a retry gets the first result back. `fingerprint` is the hash of the body,
    so the key reused with another body is refused instead of silently answered."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_once")
        ]

    def __str__(self):
        return f"{self.scope} {self.key}"


class ApiToken(models.Model):
    """K1: an API token, kept as its SHA-512 digest only (django-rest-knox's hash, `api.tokens`);
    the key itself is shown once, when it is made (K2). `token_key`, the key's first characters
    (knox's prefix, which also finds the row), names it in the admin. Refused after `expiry`;
    `last_used_at` is written at most once a minute."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    token_key = models.CharField("prefix", max_length=25, db_index=True)
    digest = models.CharField(max_length=128, unique=True)
    created = models.DateTimeField(default=clock.now)
    expiry = models.DateTimeField("expires", null=True, blank=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.token_key}… ({self.user})"


class Webhook(models.Model):
    """An address that receives every accepted rating, change and comment, signed with
    HMAC-SHA256 of `secret` (K3: encrypted in its column; K4: never shown after saving)."""

    url = models.URLField(
        "URL",
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Receives a POST with a JSON body for each rating event.",
    )
    secret = EncryptedTextField(
        validators=[MinLengthValidator(16), MaxLengthValidator(200)],
        help_text="Shared with the receiver: the body is signed with HMAC-SHA256 of it "
        "(header X-CSAT-Signature). At least 16 characters.",
    )
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True, help_text="Inactive webhooks receive nothing.")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event for one webhook and what became of it (at least once: the receiver drops
    repeats by `event_id`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (given up)"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40)
    rating_event = models.ForeignKey(
        RatingEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the delivery until then (a lease), so two workers never send it at once;
    # a sender that died lets go when it runs out.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event_id"], name="delivery_event_once")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} to {self.webhook}"
