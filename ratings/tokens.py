"""Signed links for customers (A9): they name one request, cannot be forged, and never log
anyone in."""

from dataclasses import dataclass

from django.core import signing

RATING_SALT = "csat.ratings.rate"
MESSENGER_SALT = "csat.ratings.messenger"


class BadToken(Exception):
    """The link was altered, signed with another key, or is not a rating link at all."""


@dataclass(frozen=True)
class RatingLink:
    request_id: int
    conversation_id: int
    value: int | None


def rating_token(*, request_id: int, conversation_id: int, value: int | None = None) -> str:
    payload = {"r": request_id, "c": conversation_id}
    if value is not None:
        payload["v"] = value
    return signing.dumps(payload, salt=RATING_SALT, compress=True)


def rating_token_read(token: str) -> RatingLink:
    try:
        payload = signing.loads(token, salt=RATING_SALT)
        return RatingLink(
            request_id=int(payload["r"]),
            conversation_id=int(payload["c"]),
            value=int(payload["v"]) if "v" in payload else None,
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BadToken("This rating link is not valid.") from None


def messenger_token(*, contact_id: int) -> str:
    return signing.dumps({"k": contact_id}, salt=MESSENGER_SALT, compress=True)


def messenger_token_read(token: str) -> int:
    try:
        return int(signing.loads(token, salt=MESSENGER_SALT)["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BadToken("This Messenger link is not valid.") from None
