"""The customer's rating card in the Messenger (A1–A7)."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import (
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from ratings.answers import MAX_COMMENT_LENGTH, VALUE_MESSAGE
from ratings.scale import REACTIONS


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
        child=serializers.CharField(),
        help_text="Reasons offered (after terrible or bad, A1): the values to post, in the "
        "default language (L3).",
    )
    reason_words = serializers.ListField(
        child=serializers.CharField(),
        help_text="L3: the words of each reason offered, in the contact's language (show "
        "these, post `reasons`).",
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
