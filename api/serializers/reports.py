"""The report figures (R1, R2) and the period every report query takes."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import (
    MAX_ID,
    QuerySerializer,
)
from ratings.scale import ABOVE, BELOW, NO_RATINGS, TOO_FEW, WITHIN
from reports.selectors import EARLIEST, KIND_FILTER_NAMES, LATEST, PRESETS, TEAMMATE_SORTS


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
            # The report selectors count days either side of a period.
            if day is not None and not EARLIEST <= day <= LATEST:
                errors[name] = [f"Choose a day from {EARLIEST} to {LATEST}."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def period_params(self) -> dict[str, str]:
        """The validated period as the query string the report selectors read."""
        data = self.validated_data
        return {key: str(data[key]) for key in ("days", "from", "to") if key in data}


class SummaryQuerySerializer(PeriodQuerySerializer):
    kind = serializers.ChoiceField(
        choices=KIND_FILTER_NAMES,
        required=False,
        default="teammates",
        help_text="B6: the ratings of teammates (default), of the bot, or all.",
    )


class TeammatesReportQuerySerializer(PeriodQuerySerializer):
    sort = serializers.ChoiceField(
        choices=[key for sort in TEAMMATE_SORTS for key in (sort, f"-{sort}")],
        required=False,
        default="name",
    )


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


STANDINGS = [ABOVE, BELOW, WITHIN, TOO_FEW, NO_RATINGS]


class HonestCsatSerializer(serializers.Serializer):
    """S4 beside S1's CSAT: its 95 % Wilson interval, S4a's flag, S4b's standing."""

    csat_low = serializers.FloatField(
        allow_null=True, help_text="S4: the 95 % interval's lower bound, a percentage."
    )
    csat_high = serializers.FloatField(
        allow_null=True, help_text="S4: the 95 % interval's upper bound, a percentage."
    )
    too_few = serializers.BooleanField(
        help_text="S4a: fewer ratings than `min_ratings`; the pages show no CSAT then."
    )
    standing = serializers.ChoiceField(
        choices=STANDINGS,
        help_text="S4b: `above` or `below` only when the whole interval is; `within` when the "
        "target is inside it; `too_few`; `none` without ratings.",
    )
    meets_target = serializers.BooleanField(
        allow_null=True,
        help_text="S4b: true when `standing` is above, false when below, else null.",
    )


class KindLineSerializer(HonestCsatSerializer):
    """B6: the bot's line, with S4 beside its CSAT as every CSAT has it."""

    ratings = serializers.IntegerField()
    csat = serializers.FloatField(allow_null=True, help_text="S1, a percentage.")
    requests = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True, help_text="S3, a percentage.")


class SummarySerializer(HonestCsatSerializer):
    period = PeriodSerializer()
    teammate = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(
        choices=KIND_FILTER_NAMES, help_text="B6: whose ratings the figures are."
    )
    bot = KindLineSerializer(
        allow_null=True,
        help_text="B6: the bot's own line (never in the teammates' figures); null when the bot "
        "had no requests or ratings in the period.",
    )
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
    min_ratings = serializers.IntegerField(help_text="S4a: ratings needed for a CSAT.")
    reasons = ReasonCountSerializer(many=True)
    trend = TrendSerializer()


class TeammateRowSerializer(HonestCsatSerializer):
    teammate = serializers.IntegerField()
    name = serializers.CharField()
    requests = serializers.IntegerField()
    ratings = serializers.IntegerField()
    csat = serializers.FloatField(allow_null=True)
    by_reaction = ReactionCountSerializer(many=True)


class TeammatesReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    target = serializers.IntegerField()
    min_ratings = serializers.IntegerField(help_text="S4a: ratings needed for a CSAT.")
    rows = TeammateRowSerializer(many=True)
