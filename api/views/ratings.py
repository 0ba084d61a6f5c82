"""Ratings, read through the report selectors (R3)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics

from api.pagination import Cursor
from api.serializers.ratings import (
    RatingDetailSerializer,
    RatingSerializer,
    RatingsQuerySerializer,
)
from api.views.base import PaginatedList, period_of, validated_query
from ratings.models import Rating
from reports import selectors as report_selectors


class RatingCursor(Cursor):
    ordering = ("-rated_at", "-id")


@extend_schema(
    tags=["ratings"],
    summary="List ratings",
    description="Newest first, over a period (as the report pages: `days` or `from`/`to`, the "
    "last 30 days by default), by reaction, teammate, follow-up and kind (teammate or bot, "
    "B6) (R3's selector).",
    parameters=[RatingsQuerySerializer],
)
class RatingList(PaginatedList):
    queryset = Rating.objects.all()
    serializer_class = RatingSerializer
    pagination_class = RatingCursor
    required_perms = {"GET": ["ratings.view_rating"]}

    def list(self, request, *args, **kwargs):
        query = validated_query(RatingsQuerySerializer, request)
        data = query.validated_data
        ratings = report_selectors.comments(
            period=period_of(query),
            teammate_id=data.get("teammate"),
            values=tuple(sorted(set(data.get("reaction") or ()))),
            followed_up=data.get("followed_up"),
            kind=data.get("kind"),
        )
        page = self.paginate_queryset(ratings)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["ratings"], summary="Read a rating with its history (A8)")
class RatingDetail(generics.RetrieveAPIView):
    queryset = Rating.objects.prefetch_related("history")
    serializer_class = RatingDetailSerializer
    lookup_url_kwarg = "id"
    required_perms = {"GET": ["ratings.view_rating"]}
