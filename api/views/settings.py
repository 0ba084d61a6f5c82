"""The rating settings, changed through `ratings.configure`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.settings import RatingSettingsSerializer
from api.views.base import validated
from ratings.configure import rating_settings_update
from ratings.models import RatingSettings


class RatingSettingsView(APIView):
    """The admin's rating settings. An update goes through `rating_settings_update`, the
    service the admin's form calls too, so the API accepts exactly what the admin accepts
    (hours of at least 1 while a limit is on, a question, at most 12 distinct reasons …)."""

    required_perms = {
        "GET": ["ratings.view_ratingsettings"],
        "PATCH": ["ratings.change_ratingsettings"],
    }

    @extend_schema(
        tags=["settings"],
        summary="Read the rating settings",
        responses={200: RatingSettingsSerializer},
    )
    def get(self, request):
        return Response(RatingSettingsSerializer(RatingSettings.current()).data)

    @extend_schema(
        tags=["settings"],
        summary="Change rating settings",
        description="Send only the settings to change; a refusal names each field at fault "
        "and changes nothing.",
        request=RatingSettingsSerializer,
        responses={200: RatingSettingsSerializer},
    )
    def patch(self, request):
        changes = validated(RatingSettingsSerializer, request.data)
        saved = rating_settings_update(by=request.user, **changes)
        return Response(RatingSettingsSerializer(saved).data)
