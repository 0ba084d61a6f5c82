"""Strict JSON fields and serializers: a request body is refused (400, the field named) when it
holds a key the operation does not take or a value of the wrong JSON type. DRF's own fields
would turn 12 into "12" or "true" into True; an integration that sends the wrong type has a
bug it should hear about."""

from collections.abc import Mapping

from rest_framework import serializers

MAX_ID = 2**63 - 1  # the largest id the database holds; larger ones are refused, not a 500


class RejectUnknownKeys:
    """Refuses keys that are not writable fields of the serializer."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class StrictSerializer(RejectUnknownKeys, serializers.Serializer):
    pass


class StrictModelSerializer(RejectUnknownKeys, serializers.ModelSerializer):
    pass


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictURLField(serializers.URLField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class IdField(StrictIntegerField):
    """A database id in a body: a whole number from 1 to MAX_ID."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class QuerySerializer(serializers.Serializer):
    """Filters of a query string, read as strictly as a body: an empty or malformed value is a
    400 naming the parameter (DRF would read `?state=` as "no filter"), and a list parameter
    is given by repeating it (`?reaction=1&reaction=2`)."""

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):
            plain = {}
            for name, field in self.fields.items():
                if name in data:
                    many = isinstance(field, serializers.ListField)
                    plain[name] = data.getlist(name) if many else data.get(name)
            data = plain
        return super().to_internal_value(data)


class QueryBooleanField(serializers.BooleanField):
    """`true` or `false`, nothing else."""

    def to_internal_value(self, data):
        if data in ("true", True):
            return True
        if data in ("false", False):
            return False
        self.fail("invalid")
