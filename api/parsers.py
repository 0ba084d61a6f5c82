"""The API's one parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): JSON, read with the
product's checked loader, so a body nested too deep (K13) or holding a lone surrogate (K14) is a
400 in the error shape, `parse_error`, before any view or serializer sees it."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from conversations.text import JsonRefused, json_loads


class CheckedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            return json_loads(raw.decode(encoding))
        except UnicodeDecodeError:
            raise ParseError(f"The request is not valid {encoding} text.") from None
        except JsonRefused as refused:
            raise ParseError(refused.message) from None
