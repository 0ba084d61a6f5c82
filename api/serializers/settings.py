"""The rating settings: their shape here, their checks in `ratings.configure`."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import (
    IdField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from ratings.configure import SETTINGS_FIELDS
from ratings.models import ManagerAlerts, RatingSettings


class RatingSettingsSerializer(StrictSerializer):
    """The admin's rating settings; an update is checked by `ratings.configure`, as the
    admin's form is."""

    ask_users = StrictBooleanField(required=False, help_text="E1: ask users.")
    ask_leads = StrictBooleanField(required=False, help_text="E1: ask leads.")
    send_direct_outbound = StrictBooleanField(required=False, help_text="E2.")
    send_outbound_api_workflows = StrictBooleanField(required=False, help_text="E2.")
    prevent_rating_after = StrictBooleanField(required=False, help_text="A4.")
    rating_window_hours = StrictIntegerField(min_value=1, max_value=2_147_483_647, required=False)
    prevent_change_after = StrictBooleanField(required=False, help_text="A5.")
    change_window_hours = StrictIntegerField(min_value=1, max_value=2_147_483_647, required=False)
    limit_asking_contact = StrictBooleanField(required=False, help_text="E9: the fatigue guard.")
    fatigue_days = StrictIntegerField(
        min_value=1,
        max_value=365,
        required=False,
        help_text="E9: days between two requests to the same contact.",
    )
    rating_app = IdField(required=False, allow_null=True, help_text="D3: an installed app's id.")
    happiness_target = StrictIntegerField(min_value=0, max_value=100, required=False)
    min_ratings_for_csat = StrictIntegerField(
        min_value=1,
        max_value=2_147_483_647,
        required=False,
        help_text="S4a: with fewer ratings the reports show no CSAT, only “too few ratings”.",
    )
    survey_question = StrictCharField(max_length=200, required=False)
    ask_bot = StrictBooleanField(
        required=False, help_text="B1: ask for a rating of the bot's conversations."
    )
    bot_rating_window_hours = StrictIntegerField(
        min_value=1,
        max_value=2_147_483_647,
        required=False,
        allow_null=True,
        help_text="B4: A4's hours for the bot's survey; null: rating_window_hours.",
    )
    bot_change_window_hours = StrictIntegerField(
        min_value=1,
        max_value=2_147_483_647,
        required=False,
        allow_null=True,
        help_text="B4: A5's hours for the bot's survey; null: change_window_hours.",
    )
    low_rating_reasons = serializers.ListField(
        child=StrictCharField(max_length=200),
        max_length=50,
        required=False,
        help_text="Offered after a terrible or bad rating (A1).",
    )
    manager_alerts = serializers.ChoiceField(
        choices=ManagerAlerts.choices,
        required=False,
        help_text="N4: terrible and bad ratings to the managers: off, immediately, daily.",
    )
    retention_days = StrictIntegerField(
        min_value=1,
        max_value=36_500,
        required=False,
        allow_null=True,
        help_text="G4: message bodies of conversations closed more than this many days ago "
        "are erased every day; null keeps them.",
    )
    survey_texts = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)),
        required=False,
        help_text='L3: the question and reasons in other languages, e.g. {"fr": '
        '{"survey_question": "…", "low_rating_reasons": "Trop lent\\n…"}}: the reasons one '
        "a line, as many as the default list and in its order; what is missing falls back "
        "to the default texts.",
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The user who changed them last."
    )

    def to_representation(self, instance: RatingSettings):
        data = {name: getattr(instance, name) for name in SETTINGS_FIELDS}
        data["rating_app"] = instance.rating_app_id
        data["low_rating_reasons"] = instance.reasons
        data["updated_at"] = self.fields["updated_at"].to_representation(instance.updated_at)
        data["updated_by"] = instance.updated_by_id
        return data
