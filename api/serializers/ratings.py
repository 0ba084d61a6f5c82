"""Rating requests and their decisions, ratings and their history (A8)."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import (
    QueryBooleanField,
    QuerySerializer,
)
from api.serializers.reports import PeriodQuerySerializer
from ratings.models import Kind, Rating, RatingEvent, RatingRequest
from ratings.scale import reaction


class RatingRequestSerializer(serializers.ModelSerializer):
    teammate = serializers.SerializerMethodField(
        help_text="The teammate's id, kept when the teammate was deleted (G5); null for none."
    )

    class Meta:
        model = RatingRequest
        fields = [
            "id",
            "kind",
            "channel",
            "teammate",
            "contact",
            "app",
            "created_at",
            "delivered_at",
            "delivery_attempts",
        ]
        read_only_fields = fields

    def get_teammate(self, request) -> int | None:
        return request.teammate_key or None


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
    kind = serializers.ChoiceField(
        choices=Kind.choices, help_text="B3: the kind of request the close decided."
    )
    request = RatingRequestSerializer(allow_null=True)


class RatingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RatingEvent
        fields = ["id", "kind", "value", "comment", "reasons", "at"]
        read_only_fields = fields

    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)


class RatingSerializer(serializers.ModelSerializer):
    reaction = serializers.SerializerMethodField()
    teammate = serializers.SerializerMethodField(
        help_text="The teammate's id, kept when the teammate was deleted (G5); null for none."
    )
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Rating
        fields = [
            "id",
            "conversation",
            "kind",
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

    def get_teammate(self, rating) -> int | None:
        return rating.teammate_key or None


class RatingDetailSerializer(RatingSerializer):
    history = RatingEventSerializer(many=True, read_only=True)

    class Meta(RatingSerializer.Meta):
        fields = [*RatingSerializer.Meta.fields, "history"]
        read_only_fields = fields


class RatingsQuerySerializer(PeriodQuerySerializer):
    reaction = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=5),
        required=False,
        help_text="Reactions to list (repeat for several): 1 terrible … 5 amazing.",
    )
    followed_up = QueryBooleanField(
        required=False, allow_null=True, default=None, help_text="Followed up (R3) or not."
    )
    kind = serializers.ChoiceField(
        choices=Kind.choices, required=False, help_text="B6: one kind only (default: both)."
    )


class RatingKindQuerySerializer(QuerySerializer):
    kind = serializers.ChoiceField(
        choices=Kind.choices, required=False, help_text="B5: the teammate's or the bot's."
    )
