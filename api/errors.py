"""One shape for every 4xx answer of the API:

    {"code": "invalid", "message": "…in words…", "fields": {"body": ["This field is required."]}}

`code` is stable and machine-readable: a DRF error code (`not_authenticated`, `not_found`,
`throttled`, …), `invalid` for field errors, the code a service gave its `ValidationError`,
or the id of the rule that refused a rating (`A3`, `A4`, `A5`: A7). `fields` names the fields
at fault (dotted for nested ones, e.g. `contacts.0`); it is empty when none is.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ratings.answers import RatingRefused
from ratings.links import RatingLinkInvalid
from ratings.scale import customer_words

NON_FIELD_KEYS = ("non_field_errors", "__all__")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with what was recorded."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub.0": ["message", …]}."""
    found: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in _flatten(value, name).items():
                found.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            if detail:
                found[prefix] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                for field, messages in _flatten(item, name).items():
                    found.setdefault(field, []).extend(messages)
    elif detail is not None:
        found[prefix] = [str(detail)]
    return found


def _validation_response(detail) -> Response:
    fields = _flatten(detail if isinstance(detail, dict | list) else [detail])
    general = []
    for key in (*NON_FIELD_KEYS, ""):
        general.extend(fields.pop(key, []))
    if general:
        message = " ".join(general)
    elif fields:
        message = "Please correct the fields named in `fields`: " + ", ".join(fields) + "."
    else:
        message = "The request is not valid."
    return Response(error_body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)


def _django_validation_response(error: DjangoValidationError) -> Response:
    """A service's refusal: its own words, its code when it gave one."""
    if hasattr(error, "error_dict"):
        fields = {name: list(messages) for name, messages in error.message_dict.items()}
        general = []
        for key in NON_FIELD_KEYS:
            general.extend(fields.pop(key, []))
        message = " ".join(general) or "Please correct the fields named in `fields`."
        return Response(error_body("invalid", message, fields), status=400)
    codes = {item.code for item in error.error_list if item.code}
    code = codes.pop() if len(codes) == 1 else "invalid"
    return Response(error_body(code, " ".join(error.messages)), status=400)


def api_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error in the one shape."""
    if isinstance(exc, RatingLinkInvalid):
        return Response(error_body("invalid_link", " ".join(exc.messages)), status=404)
    if isinstance(exc, RatingRefused):
        # The rule's words in the language active now (the contact's, L2), whichever was
        # active when the service refused.
        body = error_body(exc.rule, customer_words(exc.rule))
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        return _django_validation_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        response = _validation_response(exc.detail)
        return response
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a bug, left to Django's 500 handling
    detail = exc.detail if isinstance(exc, exceptions.APIException) else None
    if isinstance(detail, dict | list):
        # Another exception carrying field errors (rare): keep them.
        body = _validation_response(detail).data
        body["code"] = getattr(exc, "default_code", "error")
    else:
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(str(code), str(detail) if detail is not None else "Error.")
    response.data = body
    return response
