"""Webhooks and their deliveries."""

from __future__ import annotations

from django.core.validators import URLValidator
from rest_framework import serializers

from api import outbound
from api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictModelSerializer,
    StrictURLField,
)
from api.models import Webhook, WebhookDelivery


class WebhookSerializer(StrictModelSerializer):
    url = StrictURLField(
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="An http or https address; it receives a POST per rating event. Its host "
        "must resolve, and to public addresses only unless the server allows private ones "
        "(K6).",
    )
    secret = StrictCharField(
        write_only=True,
        min_length=16,
        max_length=200,
        help_text="Signs each delivery (HMAC-SHA256); never shown again.",
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    active = StrictBooleanField(required=False)

    class Meta:
        model = Webhook
        fields = ["id", "url", "secret", "description", "active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_url(self, value):
        """K6: a host that resolves to a refused address (or not at all) is not saved."""
        refusal = outbound.url_refusal(value)
        if refusal:
            raise serializers.ValidationError(refusal, code="refused")
        return value


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
        ]
        read_only_fields = fields
