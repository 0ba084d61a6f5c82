"""Shapes every resource shares: the error body, the empty request."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import (
    StrictSerializer,
)


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


class EmptySerializer(StrictSerializer):
    pass
