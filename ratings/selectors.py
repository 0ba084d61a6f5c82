"""Reads of the rating spine."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q

from conversations import clock
from conversations.models import Contact, Conversation, Part
from ratings.models import MessengerApp, Rating, RatingDecision, RatingRequest, RatingSettings
from ratings.rules import REASONS, answer_refusal
from ratings.scale import BY_VALUE, LOW_VALUES, Reaction, reaction
from ratings.services import RatingLinkInvalid, rating_windows
from ratings.tokens import BadToken, messenger_token_read, rating_token, rating_token_read


@dataclass(frozen=True)
class Decision:
    """What the latest close of a conversation decided."""

    status: str  # none (never closed) | pending | sent | skipped
    rule: str = ""
    words: str = ""
    request: RatingRequest | None = None

    @property
    def summary(self) -> str:
        if self.status == "none":
            return "Not closed yet: a survey is decided when a teammate closes it."
        if self.status == "pending":
            return "Closed: the decision is queued."
        if self.status == "sent":
            return "A rating request was sent."
        return f"No survey ({self.rule}): {self.words}"


def rating_decision(*, conversation: Conversation) -> Decision:
    """The decision of the conversation's latest close (two queries)."""
    close = conversation.closes.order_by("-closed_at", "-id").first()
    if close is None:
        return Decision(status="none")
    decision = RatingDecision.objects.select_related("request").filter(close=close).first()
    if decision is None:
        return Decision(status="pending")
    if decision.outcome == RatingDecision.Outcome.SENT:
        return Decision(status="sent", request=decision.request)
    return Decision(
        status="skipped", rule=decision.rule, words=REASONS.get(decision.rule, decision.rule)
    )


# --- the customer's pages: reads only (a GET never writes) ----------------------------------


@dataclass(frozen=True)
class RatingState:
    """What a rating page or card shows for one request, read without writing: the current
    rating and whether a rating (or a change) and a comment would be accepted now."""

    request: RatingRequest
    rating: Rating | None
    rate_refusal: str | None  # the rule (A3, A4, A5) that would refuse a rating now
    comment_refusal: str | None  # A3 once a comment was left; None also before any rating
    reasons: tuple[str, ...] = ()  # the low-rating reasons offered (A1: after 1 or 2 only)
    link_value: int | None = None  # the reaction the link was made for, if any
    question: str = ""  # the survey question of the settings

    @property
    def can_rate(self) -> bool:
        return self.rate_refusal is None

    @property
    def can_comment(self) -> bool:
        return self.rating is not None and self.comment_refusal is None

    @property
    def refusal_words(self) -> str:
        return REASONS.get(self.rate_refusal or "", "")

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
    def autosubmit(self) -> bool:
        """Whether the page may post the link's reaction by itself (no rating yet, allowed)."""
        return self.rating is None and self.can_rate and self.link_value is not None


def _rating_settings() -> RatingSettings:
    """The settings without creating their row (`load()` would write on a GET)."""
    return RatingSettings.objects.filter(pk=1).first() or RatingSettings()


def rating_state(
    *,
    request: RatingRequest,
    settings: RatingSettings | None = None,
    now: datetime | None = None,
    link_value: int | None = None,
) -> RatingState:
    """A1–A6 as `rating_submit` and `rating_comment` would apply them now, without writing.
    No query when `settings` is given and `request` was read with its close, its
    conversation's workflow and its rating."""
    settings = settings or _rating_settings()
    try:
        rating = request.rating
    except Rating.DoesNotExist:
        rating = None
    has_comment = rating is not None and rating.commented_at is not None
    facts = {
        "closed_at": request.close.closed_at,
        "now": now or clock.now(),
        "windows": rating_windows(request, settings),
        "has_comment": has_comment,
    }
    return RatingState(
        request=request,
        rating=rating,
        rate_refusal=answer_refusal(action="rate", has_rating=rating is not None, **facts),
        comment_refusal=answer_refusal(action="comment", has_rating=True, **facts)
        if rating
        else None,
        reasons=tuple(settings.reasons) if rating and rating.value in LOW_VALUES else (),
        link_value=link_value if link_value in BY_VALUE else None,
        question=settings.survey_question,
    )


def rating_link_state(*, token: str) -> RatingState:
    """The rating page's read (A9): the request a link names, or `RatingLinkInvalid` when the
    link was altered, names no request, or names another conversation."""
    try:
        link = rating_token_read(token)
    except BadToken:
        raise RatingLinkInvalid() from None
    request = (
        RatingRequest.objects.select_related(
            "close", "conversation__workflow", "teammate", "rating"
        )
        .filter(pk=link.request_id)
        .first()
    )
    if request is None or request.conversation_id != link.conversation_id:
        raise RatingLinkInvalid()
    return rating_state(request=request, link_value=link.value)


@dataclass(frozen=True)
class MessengerThread:
    """One conversation as the customer sees it in the Messenger."""

    conversation: Conversation
    parts: list[Part]  # replies, bot messages, and the closed / rating-requested events
    card: RatingState | None = None  # the standard survey card (D1), when delivered here
    card_token: str = ""
    app: MessengerApp | None = None  # D3: the rating app's card instead of the survey

    @property
    def anchor(self) -> str:
        return f"conversation-{self.conversation.pk}"


@dataclass(frozen=True)
class MessengerPage:
    contact: Contact
    threads: list[MessengerThread]


MESSENGER_EVENTS = (Part.Event.CLOSED, Part.Event.CLOSED_QUIETLY, Part.Event.RATING_REQUESTED)


def messenger_page(*, token: str) -> MessengerPage:
    """The contact's conversations, newest first, without internal notes, each with its rating
    card where the survey was delivered in the Messenger. A fixed number of queries however
    many conversations there are. Raises `BadToken` for a bad link or an unknown contact."""
    contact = Contact.objects.filter(pk=messenger_token_read(token)).first()
    if contact is None:
        raise BadToken("This Messenger link is not valid.")
    settings = _rating_settings()
    visible = Part.objects.filter(
        Q(kind__in=[Part.Kind.REPLY, Part.Kind.BOT])
        | Q(kind=Part.Kind.EVENT, event__in=MESSENGER_EVENTS)
    ).select_related("author_teammate", "author_contact")
    conversations = (
        contact.conversations.select_related(
            "workflow",
            "rating_request__close",
            "rating_request__app",
            "rating_request__teammate",
            "rating_request__rating",
        )
        .prefetch_related(Prefetch("parts", queryset=visible, to_attr="visible_parts"))
        .order_by("-created_at", "-id")
    )
    now = clock.now()
    threads = []
    for conversation in conversations:
        threads.append(_messenger_thread(conversation, settings, now))
    return MessengerPage(contact=contact, threads=threads)


def _messenger_thread(conversation: Conversation, settings: RatingSettings, now) -> MessengerThread:
    try:
        request = conversation.rating_request
    except RatingRequest.DoesNotExist:
        request = None
    if request is None or request.channel != "messenger" or request.delivered_at is None:
        return MessengerThread(conversation=conversation, parts=conversation.visible_parts)
    if request.app_id:
        return MessengerThread(
            conversation=conversation, parts=conversation.visible_parts, app=request.app
        )
    return MessengerThread(
        conversation=conversation,
        parts=conversation.visible_parts,
        card=rating_state(request=request, settings=settings, now=now),
        card_token=rating_token(request_id=request.pk, conversation_id=conversation.pk),
    )
