"""Reads of the rating spine: what a close decided, the admin's rating panel, the customer's
rating page (the Messenger's reads are in ratings.messenger). Nothing here writes (a GET
never does), so nothing here imports the writing modules."""

from dataclasses import dataclass, replace
from datetime import datetime

from django.utils import translation

from conversations import clock
from conversations.languages import contact_language, default_language, language_match
from conversations.models import Conversation, ConversationClose, Teammate
from ratings.links import link_read, linked_request
from ratings.models import (
    Rating,
    RatingDecision,
    RatingEvent,
    RatingRequest,
    RatingSettings,
)
from ratings.rules import BOT, TEAMMATE, answer_refusal, rule_words, scanner_window_open
from ratings.scale import BY_VALUE, LOW_VALUES, Reaction, customer_words, reaction
from ratings.tokens import BadToken, rating_token_read


@dataclass(frozen=True)
class Decision:
    """What one close decided: none (never closed), pending, sent or skipped (with its rule)."""

    status: str  # none (never closed) | pending | sent | skipped
    rule: str = ""
    words: str = ""  # the rule in plain words (skipped only)
    request: RatingRequest | None = None
    kind: str = TEAMMATE  # B3: the kind of request the close decided (teammate | bot)

    @property
    def summary(self) -> str:
        """One sentence for the latest close."""
        if self.status == "none":
            return "Not closed yet: a survey is decided when a teammate closes it."
        if self.status == "pending":
            return "Closed: the decision is queued."
        if self.status == "sent":
            return self.why
        return f"No survey ({self.rule}): {self.words}"

    @property
    def label(self) -> str:
        if self.status in RatingDecision.Outcome.values:
            return RatingDecision.Outcome(self.status).label
        return "Pending" if self.status == "pending" else "Not closed yet"

    @property
    def why(self) -> str:
        """The reason beside a close's rule: the rule's words, or what happened."""
        if self.status == "pending":
            return "Decision queued."
        if self.status == "sent":
            if self.kind == BOT:
                return "A rating request about the bot was sent."
            return "A rating request was sent."
        return self.words


def decision_of(record: RatingDecision | None) -> Decision:
    """A close's recorded decision (None: not decided yet) as the faces show it; the one
    place where a decision gets its words."""
    if record is None:
        return Decision(status="pending")
    if record.outcome == RatingDecision.Outcome.SENT:
        return Decision(status="sent", request=record.request, kind=record.kind)
    return Decision(
        status="skipped", rule=record.rule, words=rule_words(record.rule), kind=record.kind
    )


def rating_decision(*, conversation: Conversation) -> Decision:
    """The decision of the conversation's latest close (two queries)."""
    close = conversation.closes.order_by("-closed_at", "-id").first()
    if close is None:
        return Decision(status="none")
    return decision_of(RatingDecision.objects.select_related("request").filter(close=close).first())


# --- the admin's rating panel: why (no) survey -----------------------------------------------


@dataclass(frozen=True)
class CloseRow:
    """One close and what it decided."""

    number: int
    close: ConversationClose
    decision: Decision

    @property
    def status(self) -> str:
        return self.decision.status


@dataclass(frozen=True)
class HistoryRow:
    event: RatingEvent
    reaction: Reaction


@dataclass(frozen=True)
class RequestBlock:
    """One request of the conversation (a teammate's or the bot's, B5) with its rating and
    its history."""

    request: RatingRequest
    rating: Rating | None
    reaction: Reaction | None
    history: list[HistoryRow]


@dataclass(frozen=True)
class RatingPanel:
    decision: Decision  # the latest close's, as `rating_decision` says it
    latest_closed_at: datetime | None
    closes: list[CloseRow]
    blocks: list[RequestBlock] = ()  # every request, the teammate's first (B5)

    # The first block's (the teammate's request, else the bot's), for the single-request view.
    @property
    def _first(self) -> RequestBlock | None:
        return self.blocks[0] if self.blocks else None

    @property
    def request(self) -> RatingRequest | None:
        return self._first.request if self._first else None

    @property
    def rating(self) -> Rating | None:
        return self._first.rating if self._first else None

    @property
    def reaction(self) -> Reaction | None:
        return self._first.reaction if self._first else None

    @property
    def history(self) -> list[HistoryRow]:
        return self._first.history if self._first else []


def rating_panel(*, conversation: Conversation) -> RatingPanel:
    """Everything the conversation page's rating panel shows, in a fixed number of queries
    whatever the state and however many closes and history entries there are: the closes with
    their decisions (one), the request with its rating (one) and the request's history (one,
    only once rated, or once a rating was discarded, A10). The latest close's decision comes
    from the closes already read, so the page costs the same before and after the first
    close."""
    closes = []
    for number, close in enumerate(
        ConversationClose.objects.filter(conversation=conversation)
        .select_related("decision__request", "closed_by", "last_teammate_replier")
        .order_by("closed_at", "id"),
        start=1,
    ):
        try:
            record = close.decision
        except RatingDecision.DoesNotExist:
            record = None
        closes.append(CloseRow(number=number, close=close, decision=decision_of(record)))
    requests = sorted(
        RatingRequest.objects.select_related("teammate", "contact", "app", "rating").filter(
            conversation=conversation
        ),
        key=lambda r: (r.kind != TEAMMATE, r.pk),
    )
    ratings = {}
    for request in requests:
        try:
            ratings[request.pk] = request.rating
        except Rating.DoesNotExist:
            ratings[request.pk] = None
    # The requests' history in one query: once rated, or once a rating was discarded (A10).
    with_history = [r.pk for r in requests if ratings[r.pk] or r.discarded_at is not None]
    history: dict[int, list[HistoryRow]] = {pk: [] for pk in with_history}
    if with_history:
        for event in RatingEvent.objects.filter(request_id__in=with_history).order_by("at", "id"):
            history[event.request_id].append(
                HistoryRow(event=event, reaction=reaction(event.value))
            )
    blocks = [
        RequestBlock(
            request=request,
            rating=ratings[request.pk],
            reaction=reaction(ratings[request.pk].value) if ratings[request.pk] else None,
            history=history.get(request.pk, []),
        )
        for request in requests
    ]
    return RatingPanel(
        decision=closes[-1].decision if closes else Decision(status="none"),
        latest_closed_at=closes[-1].close.closed_at if closes else None,
        closes=closes,
        blocks=blocks,
    )


# --- the customer's pages: reads only (a GET never writes) ----------------------------------


def staff_signed_in(user) -> bool:
    """K11: whether the browser behind a customer page or card is signed in as staff: a user
    of the admin (`is_staff`, superusers included) or any user with a teammate profile. Such
    a browser rates nothing (K11 in `ratings.rules.answer_refusal` and the answers). No query
    for a customer's browser (not signed in) nor for a staff user; one for a signed-in user
    who is neither."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return Teammate.objects.filter(user_id=user.pk).exists()


@dataclass(frozen=True)
class RatingState:
    """What a rating page or card shows for one request, read without writing: the current
    rating and whether a rating (or a change) and a comment would be accepted now."""

    request: RatingRequest
    rating: Rating | None
    rate_refusal: str | None  # the rule (A3, A4, A5) that would refuse a rating now
    comment_refusal: str | None  # A3 once a comment was left; None also before any rating
    reasons: tuple[str, ...] = ()  # the low-rating reasons offered (A1: after 1 or 2 only)
    # L3: each reason (the default-language text, which is posted, stored and reported) → its
    # words in the contact's language.
    reason_words: dict | None = None
    link_value: int | None = None  # the reaction the link was made for, if any
    question: str = ""  # the survey question of the settings
    # A10: the standing rating was left by an auto post less than a minute ago, no person's
    # post since (so the page keeps posting its link's reaction: a scanner's next link).
    auto_recent: bool = False
    # A10: a rating left by auto posts was discarded less than a minute ago (or the page is
    # the one a discarding post led to): say so, and post nothing by itself.
    discarded: bool = False
    language: str = ""  # L2: the one the page or card speaks (the contact's)

    @property
    def can_rate(self) -> bool:
        return self.rate_refusal is None

    @property
    def reason_choices(self) -> list[tuple[str, str]]:
        """L3: (value posted, words shown) of each reason offered."""
        words = self.reason_words or {}
        return [(reason, words.get(reason, reason)) for reason in self.reasons]

    @property
    def rating_reasons(self) -> list[str]:
        """L3: the reasons the customer ticked, in their language."""
        words = self.reason_words or {}
        return [words.get(reason, reason) for reason in (self.rating.reasons or [])]

    @property
    def can_comment(self) -> bool:
        return self.rating is not None and self.comment_refusal is None

    @property
    def refusal_words(self) -> str:
        return customer_words(self.rate_refusal) if self.rate_refusal else ""

    @property
    def scanner_words(self) -> str:
        """A10 in plain words: why no rating stands after a scanner's auto posts."""
        return customer_words("A10")

    @property
    def current(self) -> Reaction | None:
        return reaction(self.rating.value) if self.rating else None

    @property
    def link_reaction(self) -> Reaction | None:
        return reaction(self.link_value) if self.link_value else None

    @property
    def link_differs(self) -> bool:
        """A rating exists and the link was made for another reaction (a change, A2)."""
        return bool(self.rating and self.link_value and self.link_value != self.rating.value)

    @property
    def offers_link_change(self) -> bool:
        """The link's reaction differs from the rating and a change is allowed: the page asks
        "Change your rating to …?" with one button (A2)."""
        return self.link_differs and self.can_rate

    @property
    def autosubmit(self) -> bool:
        """Whether the page may post the link's reaction by itself, marked as an auto post
        (A10): a first rating, or a change of a rating an auto post left less than a minute
        ago with no person's post since; never within the minute after a discard."""
        if self.discarded or not self.can_rate or self.link_value is None:
            return False
        return self.rating is None or (self.auto_recent and self.link_differs)


def rating_state(
    *,
    request: RatingRequest,
    settings: RatingSettings | None = None,
    now: datetime | None = None,
    link_value: int | None = None,
    language: str | None = None,
    staff: bool = False,
) -> RatingState:
    """A1–A6 as `rating_submit` and `rating_comment` would apply them now, without writing.
    No query when `settings` is given and `request` was read with its close, its
    conversation's workflow and its rating. `language` (L2, L3): the one the question and the
    reasons are shown in; by default the active one. `staff` (K11): the viewer's browser is
    signed in as staff, so it may neither rate nor comment (the page says why instead of
    offering the buttons, and posts nothing by itself)."""
    settings = settings or RatingSettings.current()
    language = language_match(language or translation.get_language()) or default_language()
    try:
        rating = request.rating
    except Rating.DoesNotExist:
        rating = None
    has_comment = rating is not None and rating.commented_at is not None
    now = now or clock.now()
    facts = {
        "closed_at": request.close.closed_at,
        "now": now,
        "windows": settings.windows(request.conversation.workflow, request.kind),
        "has_comment": has_comment,
        "staff": staff,
    }
    return RatingState(
        request=request,
        rating=rating,
        rate_refusal=answer_refusal(action="rate", has_rating=rating is not None, **facts),
        comment_refusal=answer_refusal(action="comment", has_rating=True, **facts)
        if rating
        else None,
        reasons=tuple(settings.reasons) if rating and rating.value in LOW_VALUES else (),
        reason_words=settings.reasons_in(language) if rating else None,
        link_value=link_value if link_value in BY_VALUE else None,
        question=settings.question_in(language, request.kind),
        auto_recent=rating is not None and scanner_window_open(at=rating.auto_at, now=now),
        discarded=scanner_window_open(at=request.discarded_at, now=now),
        language=language,
    )


# H1: the columns the rating page and the Messenger card read of a request and what it joins
# (the rating's answer); the other ~50 (the inbox's, the delivery's) cost a click's CPU to
# compile and decode. A column read that is not here is one more query: the tests count them.
LINK_STATE_COLUMNS = (
    "conversation_id",
    "kind",
    "discarded_at",
    "close__closed_at",
    "conversation__subject",
    "conversation__workflow__rating_window_hours",
    "conversation__workflow__change_window_hours",
    "teammate__name",
    "contact__language",
    "contact__erased_at",
    *(
        f"rating__{name}"
        for name in ("value", "comment", "reasons", "rated_at", "changed_at", "commented_at")
    ),
    "rating__auto_at",
)


_LINK_STATE_READ = link_read(
    RatingRequest.objects.select_related(
        "close", "conversation__workflow", "teammate", "rating", "contact"
    )
    .only(*LINK_STATE_COLUMNS)
    .annotate(settings_version=RatingSettings.version())
)


def rating_link_state(*, token: str, done: str = "", staff: bool = False) -> RatingState:
    """The rating page's read (A9): the request a link names, or `RatingLinkInvalid` when the
    link was altered, names no request, or names another conversation.

    `done`: the page is the one the customer's own post on it led to ("rated", "commented",
    "discarded"). The link's reaction then asks for nothing any more (the customer has
    chosen since), and after a discard (A10) the page posts nothing by itself.

    One query: the request with everything the page shows and the rules read (its close,
    rating, contact, teammate, the conversation and its workflow) and the settings' version
    (`RatingSettings.as_of`: no query while this process's copy is the saved one). The
    state's `language` is the contact's (L2). `staff`: as `rating_state`'s (K11)."""
    request, link = linked_request(token, _LINK_STATE_READ)
    state = rating_state(
        request=request,
        settings=RatingSettings.as_of(request.settings_version),
        link_value=None if done else link.value,
        language=contact_language(request.contact),
        staff=staff,
    )
    if done == "discarded" and state.rating is None:
        state = replace(state, discarded=True)
    return state


def rating_link_language(token) -> str:
    """L2: the language of the contact a rating link was sent to (the default for a link that
    names no request: its page says so in the default language). One query: for the answers
    that read no request (a refused input, say); the pages and cards take it from
    `rating_link_state` instead."""
    try:
        link = rating_token_read(str(token))
    except BadToken:
        return default_language()
    language = (
        RatingRequest.objects.filter(pk=link.request_id, conversation_id=link.conversation_id)
        .values_list("contact__language", flat=True)
        .first()
    )
    return language_match(language or "") or default_language()
