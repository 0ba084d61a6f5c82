"""Signed links for customers (A9): they name one request, cannot be forged, and never log
anyone in.

K19: a Messenger link (`/messenger/<token>/`, the contact's whole Messenger) ends: it is
refused `MESSENGER_LINK_MAX_AGE_DAYS` days after it was made, and as soon as the contact's
links are revoked (admin → Contacts → "Revoke Messenger links", and erasure). The link
carries the contact's `messenger_links_epoch` of when it was made; a revoke raises that
number. A link made before K19 carries no number: it counts as 0, so it works until its age
runs out or the contact's first revoke (it has the timestamp `signing.dumps` always put in).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_noop

RATING_SALT = "csat.ratings.rate"
MESSENGER_SALT = "csat.ratings.messenger"


class BadToken(Exception):
    """The link was altered, signed with another key, or is not a rating link at all."""


# K19: what a customer reads on an ended Messenger link (the page is a 410, nothing changes).
MESSENGER_LINK_ENDED = gettext_noop(
    "This Messenger link has expired. Open the Messenger from our website or from a newer email."
)


class LinkEnded(BadToken):
    """K19: a genuine Messenger link that has expired or was revoked."""

    def __init__(self, message: str = MESSENGER_LINK_ENDED, *, contact_id: int | None = None):
        super().__init__(message)
        self.contact_id = contact_id  # whom the ended link named, to speak their language (L1)
        self.language: str | None = None  # theirs, once `messenger_link_contact` read them


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


@dataclass(frozen=True)
class MessengerLink:
    contact_id: int
    epoch: int  # the contact's `messenger_links_epoch` when the link was made (K19)


def messenger_token(*, contact_id: int, epoch: int = 0) -> str:
    """The token of a Messenger link; `messenger_link_token(contact)` makes the current one."""
    return signing.dumps({"k": contact_id, "e": epoch}, salt=MESSENGER_SALT, compress=True)


def messenger_link_token(contact) -> str:
    """K19: a Messenger link for `contact` that works until its age runs out or a revoke."""
    return messenger_token(contact_id=contact.pk, epoch=contact.messenger_links_epoch)


def messenger_token_read(token: str) -> MessengerLink:
    """The contact a Messenger link names. `LinkEnded` once it is older than
    `MESSENGER_LINK_MAX_AGE_DAYS` (K19), `BadToken` when it is not a genuine link."""
    max_age = timedelta(days=settings.MESSENGER_LINK_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=MESSENGER_SALT)
        link = MessengerLink(contact_id=int(payload["k"]), epoch=int(payload.get("e", 0)))
        signing.loads(token, salt=MESSENGER_SALT, max_age=max_age)
        return link
    except signing.SignatureExpired:
        raise LinkEnded(contact_id=link.contact_id) from None
    except (signing.BadSignature, AttributeError, KeyError, TypeError, ValueError):
        raise BadToken("This Messenger link is not valid.") from None


def messenger_link_check(link: MessengerLink, contact) -> None:
    """K19: `LinkEnded` when the contact's links were revoked (or erased) after `link` was
    made; the one rule the link page and the widget's session both call."""
    if link.epoch != contact.messenger_links_epoch or contact.erased_at is not None:
        raise LinkEnded(contact_id=contact.pk)
