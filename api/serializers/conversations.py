"""Conversations, their parts, and the inbox actions' inputs."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import (
    MAX_ID,
    IdField,
    QuerySerializer,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)
from conversations.models import (
    Channel,
    Contact,
    Conversation,
    Origin,
    Part,
    State,
    Workflow,
)
from conversations.services import MESSAGE_MAX_LENGTH
from conversations.text import body_html, body_readable_text

MAX_BODY_LENGTH = MESSAGE_MAX_LENGTH  # K16: the one limit, the service's
BODY_FORMATS = ["html", "text"]  # one enum in the schema, read and written


BODY_HELP = (
    "HTML, sanitised (formatting and links are kept, anything else is removed); plain text "
    "with `body_format: text`, stored, shown and counted (E3a) exactly as written."
)


class BodyFormat(serializers.Serializer):
    """`body` is HTML (E3b), or plain text shown exactly as written (`body_format: text`, E3a)."""

    body_format = StrictChoiceField(
        choices=BODY_FORMATS,
        required=False,
        default="html",
        help_text="`html` (the default): sanitised, its visible text counts; `text`: as written, "
        "every character counts (`<` and `>` too).",
    )


class PartSerializer(serializers.ModelSerializer):
    event = serializers.ChoiceField(
        choices=Part.Event.choices, allow_blank=True, read_only=True, help_text="Events only."
    )
    body = serializers.SerializerMethodField(
        help_text="The body as HTML, as the pages draw it: sanitised, or a text body escaped."
    )
    body_format = serializers.ChoiceField(
        choices=BODY_FORMATS,
        read_only=True,
        help_text="How the body was written: `text` (as typed) or `html`.",
    )
    body_text = serializers.SerializerMethodField(help_text="The body as plain text.")
    message_id = serializers.CharField(
        read_only=True, help_text="The email's Message-ID, for a part that came or went by mail."
    )

    def get_body(self, part) -> str:
        return str(body_html(part.body, part.body_format))

    def get_body_text(self, part) -> str:
        return body_readable_text(part.body, part.body_format)

    class Meta:
        model = Part
        fields = [
            "id",
            "kind",
            "event",
            "author_teammate",
            "author_contact",
            "body",
            "body_format",
            "body_text",
            "message_id",
            "created_at",
        ]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    contacts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "subject",
            "channel",
            "origin",
            "state",
            "assignee",
            "started_by_teammate",
            "workflow",
            "contacts",
            "snoozed_until",
            "created_at",
            "updated_at",
            "last_reply_at",
            "closed_at",
        ]
        read_only_fields = fields


class ConversationDetailSerializer(ConversationSerializer):
    parts = PartSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "parts"]
        read_only_fields = fields


API_ORIGINS = [
    (Origin.API.value, "Started through the API: its first message is a bot message."),
    (Origin.DIRECT_OUTBOUND.value, "Started by the calling teammate: the first message is theirs."),
    (Origin.WORKFLOW.value, "Started by a workflow (name it in `workflow`)."),
]


class ConversationCreateSerializer(BodyFormat, StrictSerializer):
    channel = StrictChoiceField(choices=Channel.choices)
    origin = StrictChoiceField(choices=API_ORIGINS, default=Origin.API.value)
    contacts = serializers.ListField(
        child=IdField(), min_length=1, max_length=50, help_text="Ids of the contacts."
    )
    body = StrictCharField(
        max_length=MAX_BODY_LENGTH, help_text=f"The first message: {BODY_HELP.lower()}"
    )
    subject = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    workflow = IdField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The workflow that started it (origin `workflow` only).",
    )

    def validate_contacts(self, ids):
        ids = list(dict.fromkeys(ids))
        found = Contact.objects.in_bulk(ids)
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(f"There is no contact {', '.join(missing)}.")
        return [found[pk] for pk in ids]

    def validate_workflow(self, pk):
        if pk is None:
            return None
        workflow = Workflow.objects.filter(pk=pk).first()
        if workflow is None:
            raise serializers.ValidationError(f"There is no workflow {pk}.")
        return workflow


class ConversationQuerySerializer(QuerySerializer):
    state = serializers.ChoiceField(choices=State.choices, required=False)
    teammate = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Assigned to this teammate."
    )
    updated_since = serializers.DateTimeField(
        required=False, help_text="Changed at or after this time (ISO 8601)."
    )


class MessageSerializer(BodyFormat, StrictSerializer):
    body = StrictCharField(max_length=MAX_BODY_LENGTH, help_text=BODY_HELP)


class CloseSerializer(StrictSerializer):
    quiet = StrictBooleanField(
        required=False,
        default=False,
        help_text="A quiet close sends the customer no survey (E8).",
    )


class SnoozeSerializer(StrictSerializer):
    until = serializers.DateTimeField(help_text="Wake-up time, with a time zone (Z1, Z2).")
