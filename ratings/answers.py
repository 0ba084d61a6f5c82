"""The customer's answers (A1–A8, A10) and a manager's follow-up on them (R3).

`rating_submit` records or changes a reaction, `rating_comment` adds the one comment (with the
low-rating reasons), each under the request's row lock and the rules of `ratings.rules`; a
refusal raises `RatingRefused`, which carries its rule and the HTTP status every face answers
with (A7), and writes nothing. Every accepted answer is appended to the history (A8) and moves
the daily report figures on in the same transaction.

K11: an answer from a browser signed in as staff (`by`) is refused (`RatingRefused("K11")`,
403) and logged, nothing written. K12: each answer keeps its `source` (email link, Messenger,
API) on the rating and its history entry.

A10: the rating page posts its link's reaction by itself on load, marked `auto`. When an auto
post of another reaction arrives within a minute of the auto post that left the standing
rating, with no person's post between, the standing rating is a mail scanner's (it opens every
link of the email): `_discard` removes it, reverses its daily figures, records the discard in
the history and announces it to the webhooks, in the transaction of that post. Auto posts
within the minute after a discard are refused (A10) and record nothing. A person's post (a
press on a button, a comment: no `auto`) is never held back by A10.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from conversations import clock
from conversations.compiled import CompiledRead
from conversations.models import Part
from conversations.services import conversation_event
from conversations.text import refuse_nul
from ratings.figures import figures_add, local_day, reasons_add
from ratings.links import link_read, linked_request
from ratings.models import (
    Rating,
    RatingEvent,
    RatingReason,
    RatingRequest,
    RatingSettings,
    Source,
    value_column,
)
from ratings.rules import (
    REFUSAL_STATUS,
    answer_refusal,
    scanner_burst,
    scanner_quiet,
)
from ratings.scale import customer_words
from ratings.selectors import staff_signed_in
from ratings.signals import rating_event_recorded

logger = logging.getLogger(__name__)

MAX_COMMENT_LENGTH = 5000
VALUE_MESSAGE = "Choose one of the five reactions (1 to 5)."
COMMENT_TOO_LONG = f"The comment is longer than {MAX_COMMENT_LENGTH} characters."


class RatingRefused(ValidationError):
    """A3–A6: the rule named by `rule` refuses the answer; A7: `status` is how every face
    answers it (403 for a time limit, 409 for a rating made final by its comment)."""

    def __init__(self, rule: str):
        self.rule = rule
        self.status = REFUSAL_STATUS.get(rule, 409)
        super().__init__(customer_words(rule), code=rule)


_LOCKED_READ = link_read(
    RatingRequest.objects.select_for_update(of=("self",))
    .select_related("close", "contact", "conversation__workflow")
    .annotate(settings_version=RatingSettings.version())
)


def _locked_request(token: str) -> tuple[RatingRequest, RatingSettings]:
    """A9: the request the link names, locked for the length of the answer, with the
    settings as they were saved when it was read (one query while this process's copy of the
    settings is the saved one: `RatingSettings.as_of`). Its rating is read after the lock
    (`_rating_of`): a rating committed while this answer waited for the lock is then seen."""
    request, _link = linked_request(token, _LOCKED_READ)
    return request, RatingSettings.as_of(request.settings_version)


def _refuse_staff(by, request: RatingRequest, action: str) -> None:
    """K11: a rating, change or comment from a browser signed in as staff (`by`, the
    browser's user) is refused (403) and logged with the user's and the conversation's ids
    (never the token); the caller's transaction then writes nothing."""
    if staff_signed_in(by):
        logger.warning(
            "K11: refused a %s from a browser signed in as staff: user %s, conversation %s",
            action,
            by.pk,
            request.conversation_id,
        )
        raise RatingRefused("K11")


def _source(source: str | None) -> str:
    """K12: a known source (the faces say theirs); a direct call of the services is the
    API's."""
    if source is None:
        return Source.API
    if source not in Source.values:
        raise ValueError(f"Unknown rating source {source!r}.")
    return source


# H6: the rating of a request, read after its lock (compiled once per process).
_RATING_READ = CompiledRead(lambda key: Rating.objects.order_by().filter(request_id=key)[:1])


def _rating_of(request: RatingRequest) -> Rating | None:
    rating = _RATING_READ.first(request.pk)
    if rating is not None:
        rating.request = request  # the locked one, with its contact: no query to reach it
    return rating


def _clean_value(value) -> int:
    """A whole number 1–5, or its digits as text (from a form): 4.5 or True is no reaction."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        value = 0
    if value not in Rating.Value.values:
        raise ValidationError(VALUE_MESSAGE, code="invalid_value")
    return value


def rated_body(value: int) -> str:
    """The thread's line of a rating (its "rated" event)."""
    return f"{Rating.Value(value).label} ({value}/5)"


def rating_made(
    request: RatingRequest,
    rating: Rating | None,
    *,
    value: int,
    now: datetime,
    auto_at: datetime | None,
    source: str,
) -> tuple[Rating, str, list]:
    """A1 (no `rating` yet) or A2 (`rating` changed to another `value`), in memory: the
    rating as the answer leaves it, the kind of its history entry (A8) and the daily figures
    it moves (R1), which the caller writes. `rating_submit` and the demo's set-based seed
    (`demo.bulk`) both make their ratings here."""
    if rating is None:
        rating = Rating(
            request=request,
            teammate_id=request.teammate_id,
            teammate_key=request.teammate_key,  # G5: kept when the teammate was deleted
            conversation=request.conversation,
            kind=request.kind,
            value=value,
            rated_at=now,
            changed_at=now,
            auto_at=auto_at,
            source=source,
        )
        figures = [
            (local_day(now), rating.teammate_key, {value_column(value): 1}),
            (local_day(request.created_at), rating.teammate_key, {"answered": 1}),
        ]
        return rating, RatingEvent.Kind.RATED, figures
    figures = [
        (
            local_day(rating.rated_at),
            rating.teammate_key,
            {value_column(rating.value): -1, value_column(value): 1},
        )
    ]
    rating.value = value
    rating.changed_at = now
    rating.auto_at = auto_at
    return rating, RatingEvent.Kind.CHANGED, figures


def comment_made(rating: Rating, comment: str, reasons: list[str], now: datetime) -> list:
    """A1, A3 in memory: the comment and its reasons on the rating (a person's: A10's auto
    mark cleared) and the reasons' rows, which the caller writes (`rating_comment`, the
    demo's set-based seed)."""
    rating.comment = comment
    rating.reasons = reasons
    rating.commented_at = now
    rating.auto_at = None  # a comment is a person's (A10)
    return [RatingReason(rating=rating, reason=r) for r in reasons]


def history_made(
    rating: Rating, kind: str, at: datetime, *, rule: str = "", source: str = Source.API
) -> RatingEvent:
    """A8: the history entry of what was accepted (or discarded, A10), in memory."""
    return RatingEvent(
        request=rating.request,
        rating=rating,
        kind=kind,
        rule=rule,
        source=source,
        value=rating.value,
        comment=rating.comment,
        reasons=rating.reasons,
        at=at,
    )


@transaction.atomic
def rating_submit(
    *,
    token: str,
    value: int,
    auto: bool = False,
    by=None,
    source: str | None = None,
) -> Rating | None:
    """A1: record the reaction; A2: change it; A4, A5, A6: within the hours since the close;
    A3: not after a comment. A refusal raises `RatingRefused` and writes nothing.

    `auto`: the rating page posted its link's reaction by itself (A10). Such a post of another
    reaction than a standing rating left by an auto post within the last minute, with no
    person's post since, discards that rating and returns None; within the minute after a
    discard an auto post is refused (A10).

    `by`: the user the answering browser is signed in as (`request.user`; None or anonymous
    for a customer): staff are refused (K11). `source` (K12): the face it came in on
    (`Source`), kept on the rating and its history; the API's when not given."""
    value = _clean_value(value)
    source = _source(source)
    request, settings = _locked_request(token)
    _refuse_staff(by, request, "rating")
    rating = _rating_of(request)
    now = clock.now()
    rule = answer_refusal(
        action="rate",
        closed_at=request.close.closed_at,
        now=now,
        windows=settings.windows(request.conversation.workflow, request.kind),
        has_rating=rating is not None,
        has_comment=rating is not None and rating.commented_at is not None,
    ) or scanner_quiet(auto=auto, discarded_at=request.discarded_at, now=now)
    if rule:
        raise RatingRefused(rule)
    auto_at = now if auto else None  # a person's post is the interaction A10 looks for
    if rating is not None and scanner_burst(
        auto=auto,
        value=value,
        now=now,
        auto_value=rating.value,
        auto_at=rating.auto_at,
        interaction=rating.auto_at is None,
    ):
        _discard(request, rating, now, source)
        return None
    if rating is not None and rating.value == value:
        # The same reaction again changes nothing; a person's press still counts as the
        # interaction that keeps A10 away from the rating.
        if not auto and rating.auto_at is not None:
            rating.auto_at = None
            rating.save(update_fields=["auto_at"])
        return rating
    first = rating is None
    rating, kind, figures = rating_made(
        request, rating, value=value, now=now, auto_at=auto_at, source=source
    )
    if first:
        rating.save(force_insert=True)
    else:
        rating.save(update_fields=["value", "changed_at", "auto_at"])
    _history(rating, kind, now, source=source)
    conversation_event(
        conversation=request.conversation,
        event=Part.Event.RATED,
        body=rated_body(value),
        by=request.contact,
    )
    # H7: the daily figures last, so the row every answer for the teammate and day shares is
    # locked only until the commit (R1: still in the answer's transaction).
    figures_add(figures, kind=rating.kind)
    return rating


def _discard(request: RatingRequest, rating: Rating, now: datetime, source: str) -> None:
    """A10: the standing rating was left by a mail scanner's auto posts: undo exactly what
    recording it did (its daily figures: answered, its value) and remove it, so reports count
    only what people gave; the history keeps it and says why (A8), the webhooks hear of it
    (`rating.discarded`), the thread shows it. Runs in the caller's transaction."""
    _history(rating, RatingEvent.Kind.DISCARDED, now, rule="A10", source=source)
    conversation_event(
        conversation=request.conversation,
        event=Part.Event.RATING_DISCARDED,
        body=f"{rated_body(rating.value)}, rule A10",
    )
    request.discarded_at = now
    request.save(update_fields=["discarded_at"])
    rating.delete()  # its reasons with it (none: a comment is an interaction); history stays
    figures_add(  # H7: last
        [
            (local_day(rating.rated_at), rating.teammate_key, {value_column(rating.value): -1}),
            (local_day(request.created_at), rating.teammate_key, {"answered": -1}),
        ],
        kind=request.kind,
    )


def _clean_reasons(reasons: Iterable[str]) -> list[str]:
    """The ticked reasons, stripped, without blanks and repeats, in the order given."""
    return list(dict.fromkeys(r.strip() for r in (reasons or ()) if r and r.strip()))


@transaction.atomic
def rating_comment(
    *,
    token: str,
    comment: str,
    reasons: Iterable[str] = (),
    by=None,
    source: str | None = None,
) -> Rating:
    """A1: an optional comment, with the admin's low-rating reasons after terrible or bad.
    A3: one comment, after which the rating is final. `by` (K11) and `source` (K12): as
    `rating_submit`'s."""
    source = _source(source)
    # One line break is one character, as the comment box counts it (browsers send CRLF).
    comment = (comment or "").replace("\r\n", "\n").strip()
    reasons = _clean_reasons(reasons)
    if not comment and not reasons:
        raise ValidationError("Write a comment or tick a reason.", code="empty")
    if len(comment) > MAX_COMMENT_LENGTH:
        raise ValidationError(COMMENT_TOO_LONG, code="too_long")
    refuse_nul(comment, "comment")  # PostgreSQL cannot store it: a 400, not a 500
    request, settings = _locked_request(token)
    _refuse_staff(by, request, "comment")
    rating = _rating_of(request)
    if rating is None:
        raise ValidationError("Choose a reaction before leaving a comment.", code="no_rating")
    if reasons:
        if rating.value > Rating.Value.BAD:
            raise ValidationError(
                "Reasons are offered only after a terrible or bad rating.", code="reasons"
            )
        unknown = [r for r in reasons if r not in settings.reasons]
        if unknown:
            raise ValidationError(f"Unknown reason: {unknown[0]}.", code="reasons")
    now = clock.now()
    rule = answer_refusal(
        action="comment",
        closed_at=request.close.closed_at,
        now=now,
        windows=settings.windows(request.conversation.workflow, request.kind),
        has_rating=True,
        has_comment=rating.commented_at is not None,
    )
    if rule:
        raise RatingRefused(rule)
    reason_rows = comment_made(rating, comment, reasons, now)
    rating.save(update_fields=["comment", "reasons", "commented_at", "auto_at"])
    RatingReason.objects.bulk_create(reason_rows)
    _history(rating, RatingEvent.Kind.COMMENTED, now, source=source)
    reasons_add(  # H7: last
        day=local_day(rating.rated_at),
        teammate_id=rating.teammate_key,
        reasons=reasons,
        kind=rating.kind,
    )
    return rating


def _history(
    rating: Rating, kind: str, at: datetime, *, rule: str = "", source: str = Source.API
) -> RatingEvent:
    """A8: the append-only record of what was accepted (or discarded, A10), announced to
    receivers (webhooks) inside the same transaction."""
    event = history_made(rating, kind, at, rule=rule, source=source)
    event.save(force_insert=True)
    rating_event_recorded.send(sender=RatingEvent, event=event, rating=rating)
    return event


@transaction.atomic
def rating_follow_up(*, rating: Rating, by, undo: bool = False) -> Rating:
    """R3: a manager marks a rating as followed up (who and when are kept), or takes it back."""
    if rating.pk is None:
        raise ValidationError("This rating has not been saved.")
    locked = Rating.objects.select_for_update().get(pk=rating.pk)
    if undo:
        locked.followed_up_at = None
        locked.followed_up_by = None
    elif locked.followed_up_at is None:
        locked.followed_up_at = clock.now()
        locked.followed_up_by = by
    else:
        raise ValidationError("This rating was already marked as followed up.")
    locked.save(update_fields=["followed_up_at", "followed_up_by"])
    rating.followed_up_at, rating.followed_up_by_id = (
        locked.followed_up_at,
        locked.followed_up_by_id,
    )
    return locked
