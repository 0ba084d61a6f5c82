"""Contacts and teammates."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import (
    QuerySerializer,
    StrictCharField,
    StrictChoiceField,
    StrictEmailField,
    StrictSerializer,
)
from conversations.models import (
    Contact,
    Teammate,
)
from ratings.models import Erasure

LANGUAGE_HELP = (
    "L1: the language of the contact's surveys and rating pages: en, fr, de, es or pt "
    "(a regional variant such as fr-CA is taken as fr); blank: the installation's default."
)


class ContactSerializer(serializers.ModelSerializer):
    language = serializers.CharField(read_only=True, help_text=LANGUAGE_HELP)
    email = serializers.CharField(
        read_only=True,
        help_text="An email address; empty for a Messenger lead who left none, or a contact "
        "whose personal data was erased (G1).",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "role",
            "name",
            "email",
            "external_id",
            "language",
            "created_at",
            "erased_at",
        ]
        read_only_fields = fields


class ErasureSerializer(serializers.ModelSerializer):
    """G3: the audit row of an erasure."""

    contact = serializers.IntegerField(source="contact_key", allow_null=True)
    by = serializers.IntegerField(source="by_id", allow_null=True, help_text="The user's id.")

    class Meta:
        model = Erasure
        fields = [
            "id",
            "reason",
            "contact",
            "by",
            "by_name",
            "at",
            "conversations",
            "parts",
            "ratings",
            "history",
        ]
        read_only_fields = fields


class ContactErasedSerializer(serializers.Serializer):
    contact = ContactSerializer()
    erasure = ErasureSerializer()


class ContactCreateSerializer(StrictSerializer):
    role = StrictChoiceField(choices=Contact.Role.choices)
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    email = StrictEmailField(max_length=254)
    external_id = StrictCharField(
        max_length=255,
        required=False,
        allow_null=True,
        default=None,
        help_text="A user's id in your app: the Messenger knows them by it (W3). Users only.",
    )
    language = StrictCharField(
        max_length=16,
        required=False,
        allow_blank=True,
        default="",
        help_text=LANGUAGE_HELP,
    )


class ContactUpdateSerializer(StrictSerializer):
    language = StrictCharField(max_length=16, allow_blank=True, help_text=LANGUAGE_HELP)


class ContactQuerySerializer(QuerySerializer):
    email = serializers.CharField(
        required=False, max_length=254, help_text="Contacts whose email contains this text."
    )


class TeammateSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Teammate
        fields = ["id", "name", "email", "created_at"]
        read_only_fields = fields
