"""A9: the rating request a customer's link names, checked in one place for every face.

A link is signed (`ratings.tokens`), names one request and its conversation, and never logs
anyone in. Both the reads (the rating page, the Messenger card) and the writes (a reaction, a
comment) go through `linked_request`, so a tampered link, an unknown request and a link moved
onto another conversation are refused alike, and so is the link of a contact whose personal
data was erased (G2).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_noop

from conversations.compiled import CompiledRead
from ratings.models import RatingRequest
from ratings.tokens import BadToken, RatingLink, rating_token_read

# Said on the page in the contact's language (L2): marked for the catalogues.
INVALID_LINK = gettext_noop("This rating link is not valid.")


class RatingLinkInvalid(ValidationError):
    """A9: a tampered, unknown or cross-conversation link."""

    def __init__(self, message=INVALID_LINK):
        super().__init__(gettext(message), code="invalid_link")


def link_read(queryset: QuerySet[RatingRequest]) -> CompiledRead[RatingRequest]:
    """The read `linked_request` makes of `queryset` (which says what to lock and join),
    compiled once per process (H6). G2: a link of a contact whose personal data was erased
    is refused as a bad link is, in the same query (the join the callers' select_related
    has; they lock `of=("self",)`). No ORDER BY: a primary key names one row."""
    return CompiledRead(
        lambda key: queryset.order_by().filter(pk=key, contact__erased_at__isnull=True)[:1]
    )


def linked_request(
    token: str, read: CompiledRead[RatingRequest]
) -> tuple[RatingRequest, RatingLink]:
    """The request `token` names, read by `read` (a `link_read`), with the link itself;
    `RatingLinkInvalid` when the link was altered, names no request, or names another
    conversation than the request's."""
    try:
        link = rating_token_read(token)
    except BadToken:
        raise RatingLinkInvalid() from None
    request = read.first(link.request_id)
    if request is None or request.conversation_id != link.conversation_id:
        raise RatingLinkInvalid()
    return request, link
