"""The API's shapes: strict input serializers (unknown keys and wrong JSON types are 400s) and
read-only output serializers. No rule lives here: inputs are handed to the services, which
refuse what the rules refuse."""

from __future__ import annotations

from datetime import date

from django.core.validators import URLValidator
from rest_framework import serializers

from api.fields import (
    MAX_ID,
    IdField,
    QueryBooleanField,
    QuerySerializer,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictEmailField,
    StrictIntegerField,
    StrictModelSerializer,
    StrictSerializer,
    StrictURLField,
)
from api.models import Webhook, WebhookDelivery
from conversations.models import (
    Channel,
    Contact,
    Conversation,
    Origin,
    Part,
    State,
    Teammate,
    Workflow,
)
from ratings.forms import VALUE_MESSAGE
from ratings.models import Rating, RatingEvent, RatingRequest, RatingSettings
from ratings.scale import REACTIONS, reaction
from ratings.services import MAX_COMMENT_LENGTH
from reports.selectors import PRESETS, TEAMMATE_SORTS

MAX_BODY_LENGTH = 50_000
# Dates a period may use: the report selectors count days either side of a period.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)


class ErrorSerializer(serializers.Serializer):
    """The one shape of every 4xx answer (see api.errors); for the schema only."""

    def get_fields(self):
        return {
            "code": serializers.CharField(
                help_text="Stable, machine-readable: e.g. invalid, not_found, A5."
            ),
            "message": serializers.CharField(help_text="What went wrong, in words."),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                help_text="Messages by field name (dotted for nested fields); may be empty.",
            ),
        }


# --- people -------------------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "role", "name", "email", "created_at"]
        read_only_fields = fields


class ContactCreateSerializer(StrictSerializer):
    role = StrictChoiceField(choices=Contact.Role.choices)
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    email = StrictEmailField(max_length=254)


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


# --- conversations ------------------------------------------------------------------------------


class PartSerializer(serializers.ModelSerializer):
    event = serializers.ChoiceField(
        choices=Part.Event.choices, allow_blank=True, read_only=True, help_text="Events only."
    )

    class Meta:
        model = Part
        fields = [
            "id",
            "kind",
            "event",
            "author_teammate",
            "author_contact",
            "body",
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


class ConversationCreateSerializer(StrictSerializer):
    channel = StrictChoiceField(choices=Channel.choices)
    origin = StrictChoiceField(choices=API_ORIGINS, default=Origin.API.value)
    contacts = serializers.ListField(
        child=IdField(), min_length=1, max_length=50, help_text="Ids of the contacts."
    )
    body = StrictCharField(max_length=MAX_BODY_LENGTH, help_text="The first message.")
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


class MessageSerializer(StrictSerializer):
    body = StrictCharField(max_length=MAX_BODY_LENGTH)


class CloseSerializer(StrictSerializer):
    quiet = StrictBooleanField(
        required=False,
        default=False,
        help_text="A quiet close sends the customer no survey (E8).",
    )


class SnoozeSerializer(StrictSerializer):
    until = serializers.DateTimeField(help_text="Wake-up time, with a time zone (Z1, Z2).")


class EmptySerializer(StrictSerializer):
    pass


# --- ratings ------------------------------------------------------------------------------------


class RatingRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = RatingRequest
        fields = [
            "id",
            "channel",
            "teammate",
            "contact",
            "app",
            "created_at",
            "delivered_at",
            "delivery_attempts",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[
            ("none", "Never closed"),
            ("pending", "Closed, the decision is queued"),
            ("sent", "A rating request was sent"),
            ("skipped", "No request: see rule and reason"),
        ]
    )
    rule = serializers.CharField(help_text="The rule that stopped the request (E1–E8), or empty.")
    reason = serializers.CharField(source="words", help_text="The rule in plain words.")
    summary = serializers.CharField()
    request = RatingRequestSerializer(allow_null=True)


class RatingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RatingEvent
        fields = ["id", "kind", "value", "comment", "reasons", "at"]
        read_only_fields = fields

    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)


class RatingSerializer(serializers.ModelSerializer):
    reaction = serializers.SerializerMethodField()
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Rating
        fields = [
            "id",
            "conversation",
            "teammate",
            "value",
            "reaction",
            "comment",
            "reasons",
            "rated_at",
            "changed_at",
            "commented_at",
            "followed_up_at",
            "followed_up_by",
        ]
        read_only_fields = fields

    def get_reaction(self, rating) -> str:
        return reaction(rating.value).name


class RatingDetailSerializer(RatingSerializer):
    history = RatingEventSerializer(many=True, read_only=True)

    class Meta(RatingSerializer.Meta):
        fields = [*RatingSerializer.Meta.fields, "history"]
        read_only_fields = fields


class PeriodQuerySerializer(QuerySerializer):
    """The period of the report pages: `days` (7, 30 or 90; 30 by default) or `from` and
    `to` (inclusive dates)."""

    days = serializers.ChoiceField(choices=[(d, f"Last {d} days") for d in PRESETS], required=False)
    teammate = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="One teammate's figures."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="First day (with `to`).")
        fields["to"] = serializers.DateField(required=False, help_text="Last day (with `from`).")
        return fields

    def validate(self, attrs):
        errors = {}
        for name in ("from", "to"):
            day = attrs.get(name)
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                errors[name] = [f"Choose a day from {FIRST_DAY} to {LAST_DAY}."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def period_params(self) -> dict[str, str]:
        """The validated period as the query string the report selectors read."""
        data = self.validated_data
        return {key: str(data[key]) for key in ("days", "from", "to") if key in data}


class RatingsQuerySerializer(PeriodQuerySerializer):
    reaction = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=5),
        required=False,
        help_text="Reactions to list (repeat for several): 1 terrible … 5 amazing.",
    )
    followed_up = QueryBooleanField(
        required=False, allow_null=True, default=None, help_text="Followed up (R3) or not."
    )


class TeammatesReportQuerySerializer(PeriodQuerySerializer):
    sort = serializers.ChoiceField(
        choices=[key for sort in TEAMMATE_SORTS for key in (sort, f"-{sort}")],
        required=False,
        default="name",
    )


# --- reports ------------------------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "from": serializers.DateField(source="first_day"),
            "to": serializers.DateField(source="last_day"),
            "days": serializers.IntegerField(),
            "preset": serializers.IntegerField(allow_null=True),
            "label": serializers.CharField(),
        }


class ReactionCountSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    name = serializers.CharField()
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, help_text="Percentage of the ratings.")


class ReasonCountSerializer(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class TrendPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    ratings = serializers.IntegerField()
    positive = serializers.IntegerField()
    csat = serializers.FloatField(allow_null=True)


class TrendSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=["day", "week"])
    points = TrendPointSerializer(many=True)


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    teammate = serializers.IntegerField(allow_null=True)
    ratings = serializers.IntegerField(help_text="Ratings in the period (current values).")
    by_reaction = ReactionCountSerializer(many=True)
    positive = serializers.IntegerField()
    neutral = serializers.IntegerField()
    negative = serializers.IntegerField()
    csat = serializers.FloatField(allow_null=True, help_text="S1, a percentage.")
    requests = serializers.IntegerField(help_text="Rating requests sent in the period.")
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True, help_text="S3, a percentage.")
    target = serializers.IntegerField(help_text="Happiness target (%).")
    meets_target = serializers.BooleanField(allow_null=True)
    reasons = ReasonCountSerializer(many=True)
    trend = TrendSerializer()


class TeammateRowSerializer(serializers.Serializer):
    teammate = serializers.IntegerField()
    name = serializers.CharField()
    requests = serializers.IntegerField()
    ratings = serializers.IntegerField()
    csat = serializers.FloatField(allow_null=True)
    meets_target = serializers.BooleanField(allow_null=True)
    by_reaction = ReactionCountSerializer(many=True)


class TeammatesReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    target = serializers.IntegerField()
    rows = TeammateRowSerializer(many=True)


# --- rating settings ----------------------------------------------------------------------------


class RatingSettingsSerializer(StrictSerializer):
    """The admin's rating settings; an update is validated by the admin's own form."""

    ask_users = StrictBooleanField(required=False, help_text="E1: ask users.")
    ask_leads = StrictBooleanField(required=False, help_text="E1: ask leads.")
    send_direct_outbound = StrictBooleanField(required=False, help_text="E2.")
    send_outbound_api_workflows = StrictBooleanField(required=False, help_text="E2.")
    prevent_rating_after = StrictBooleanField(required=False, help_text="A4.")
    rating_window_hours = StrictIntegerField(min_value=1, max_value=2_147_483_647, required=False)
    prevent_change_after = StrictBooleanField(required=False, help_text="A5.")
    change_window_hours = StrictIntegerField(min_value=1, max_value=2_147_483_647, required=False)
    rating_app = IdField(required=False, allow_null=True, help_text="D3: an installed app's id.")
    happiness_target = StrictIntegerField(min_value=0, max_value=100, required=False)
    survey_question = StrictCharField(max_length=200, required=False)
    low_rating_reasons = serializers.ListField(
        child=StrictCharField(max_length=200),
        max_length=50,
        required=False,
        help_text="Offered after a terrible or bad rating (A1).",
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def validate_low_rating_reasons(self, reasons):
        if any("\n" in reason or "\r" in reason for reason in reasons):
            raise serializers.ValidationError("A reason is one line of text.")
        return reasons

    def to_representation(self, instance: RatingSettings):
        data = {name: getattr(instance, name) for name in SETTINGS_FIELDS}
        data["rating_app"] = instance.rating_app_id
        data["low_rating_reasons"] = instance.reasons
        data["updated_at"] = self.fields["updated_at"].to_representation(instance.updated_at)
        return data


SETTINGS_FIELDS = (
    "ask_users",
    "ask_leads",
    "send_direct_outbound",
    "send_outbound_api_workflows",
    "prevent_rating_after",
    "rating_window_hours",
    "prevent_change_after",
    "change_window_hours",
    "happiness_target",
    "survey_question",
)


# --- webhooks -----------------------------------------------------------------------------------


class WebhookSerializer(StrictModelSerializer):
    url = StrictURLField(
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="An http or https address; it receives a POST per rating event.",
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


# --- the customer's rating card -----------------------------------------------------------------


class ReactionSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    name = serializers.CharField()
    label = serializers.CharField()
    emoji = serializers.CharField()


class RefusalSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="A3, A4 or A5.")
    message = serializers.CharField()


class CardRatingSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    reaction = serializers.CharField()
    comment = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    rated_at = serializers.DateTimeField()
    changed_at = serializers.DateTimeField()
    commented_at = serializers.DateTimeField(allow_null=True)


class RatingCardSerializer(serializers.Serializer):
    conversation = serializers.IntegerField()
    question = serializers.CharField()
    reactions = ReactionSerializer(many=True)
    rating = CardRatingSerializer(allow_null=True)
    can_rate = serializers.BooleanField(help_text="Whether a reaction (or a change) is taken now.")
    rate_refusal = RefusalSerializer(allow_null=True)
    can_comment = serializers.BooleanField()
    comment_refusal = RefusalSerializer(allow_null=True)
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Reasons offered (after terrible or bad, A1)."
    )


class ReactionInputSerializer(StrictSerializer):
    value = StrictIntegerField(
        min_value=1,
        max_value=5,
        error_messages={"min_value": VALUE_MESSAGE, "max_value": VALUE_MESSAGE},
        help_text=", ".join(f"{r.value} {r.name}" for r in REACTIONS),
    )


class CommentInputSerializer(StrictSerializer):
    comment = StrictCharField(
        max_length=MAX_COMMENT_LENGTH, required=False, allow_blank=True, default=""
    )
    reasons = serializers.ListField(
        child=StrictCharField(max_length=200), max_length=50, required=False, default=list
    )
