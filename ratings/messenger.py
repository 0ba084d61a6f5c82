"""Reads of the Messenger (W5, D1, D3): a contact's conversations as the customer sees them,
each with its rating card where the survey was delivered in the Messenger, and the version the
widget's poll compares. Nothing here writes the database (the poll's version cache, H4, is
conversations.poll_versions')."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache, partial

from django.db import connection
from django.db.models import Prefetch, Q

from conversations import clock, poll_versions
from conversations.languages import contact_language
from conversations.models import Contact, Conversation, Part
from ratings.models import MessengerApp, Rating, RatingRequest, RatingSettings
from ratings.selectors import RatingState, rating_state
from ratings.tokens import (
    BadToken,
    LinkEnded,
    messenger_link_check,
    messenger_token_read,
    rating_token,
)

# What a customer sees of a conversation: replies, bot messages, and these events.
MESSENGER_EVENTS = (Part.Event.CLOSED, Part.Event.CLOSED_QUIETLY, Part.Event.RATING_REQUESTED)


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

    @property
    def title(self) -> str:
        """The subject, or else the first line of the first message."""
        if self.conversation.subject:
            return self.conversation.subject
        for part in self.parts:
            text = part.visible_text.strip() if part.kind != Part.Kind.EVENT else ""
            if text:
                return text.splitlines()[0]
        return "Conversation"

    @property
    def last_message(self) -> Part | None:
        return next((p for p in reversed(self.parts) if p.kind != Part.Kind.EVENT), None)


@dataclass(frozen=True)
class MessengerPage:
    contact: Contact
    threads: list[MessengerThread]


def messenger_link_contact(*, token: str) -> Contact:
    """The contact a signed Messenger link names; `BadToken` for a bad link or no contact,
    `LinkEnded` (a `BadToken`) for one that has expired or was revoked (K19)."""
    try:
        link = messenger_token_read(token)
    except LinkEnded as ended:  # L1: the ended page speaks the language of whom it named
        named = Contact.objects.filter(pk=ended.contact_id).first()
        ended.language = contact_language(named) if named else None
        raise
    contact = Contact.objects.filter(pk=link.contact_id).first()
    if contact is None:
        raise BadToken("This Messenger link is not valid.")
    try:
        messenger_link_check(link, contact)
    except LinkEnded as ended:
        ended.language = contact_language(contact)
        raise
    return contact


def messenger_page(*, contact: Contact) -> MessengerPage:
    """W5: the contact's conversations, newest first, without internal notes, each with its
    rating card where the survey was delivered in the Messenger. A fixed number of queries
    however many conversations and parts there are."""
    settings = RatingSettings.current()
    visible = (
        Part.objects.filter(
            Q(kind__in=[Part.Kind.REPLY, Part.Kind.BOT])
            | Q(kind=Part.Kind.EVENT, event__in=MESSENGER_EVENTS)
        )
        .select_related("author_teammate", "author_contact")
        .order_by("created_at", "id")
    )
    conversations = (
        contact.conversations.select_related("workflow")
        .prefetch_related(
            Prefetch("parts", queryset=visible, to_attr="visible_parts"),
            # B5: a teammate's request and the bot's; the card is the newest delivered's.
            Prefetch(
                "rating_requests",
                queryset=RatingRequest.objects.select_related(
                    "close", "app", "teammate", "rating"
                ).order_by("-created_at", "-id"),
                to_attr="requests_newest_first",
            ),
        )
        .order_by("-created_at", "-id")
    )
    now = clock.now()
    language = contact_language(contact)
    return MessengerPage(
        contact=contact, threads=[_thread(c, settings, now, language) for c in conversations]
    )


def messenger_version(*, contact_id: int) -> str:
    """W6: one query whose answer changes whenever what `messenger_page` shows changes: a part
    added or a state changed (both move `updated_at`), a rating recorded, changed or commented
    on; and the minute, as time limits (A4, A5) and the settings' texts change with no part
    added, so a widget shows those within a minute. H4: with the version cache on
    (`conversations.poll_versions`), the query's answer is taken from the shared cache while
    nothing it reads was written since: no query at all."""
    minute = int(clock.now().timestamp() // 60)
    answer = poll_versions.cached_version(
        contact_id=contact_id, minute=minute, read=partial(_version_read, contact_id)
    )
    key = f"{contact_id}|{answer}|{minute}"
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def _version_read(contact_id: int, with_ids: bool) -> tuple[tuple[int, ...] | None, str]:
    """The version statement's answer (without the minute); with `with_ids`, also the ids of
    the contact's conversations (the version cache's entry names them, H4), where the
    database can aggregate them (PostgreSQL, SQLite), else None."""
    with_ids = with_ids and connection.vendor in _IDS
    with connection.cursor() as cursor:
        cursor.execute(_version_sql(connection.vendor, with_ids), [contact_id])
        row = cursor.fetchone()
    count, updated, rated, commented = row[:4]
    ids = None
    if with_ids:
        listed = row[4]
        if isinstance(listed, str):  # SQLite's group_concat
            listed = listed.split(",")
        ids = tuple(sorted(int(pk) for pk in listed or ()))
    return ids, f"{count}|{updated}|{rated}|{commented}"


# H4: the conversations' ids in the same statement, where the database aggregates them.
_IDS = {"postgresql": "ARRAY_AGG(DISTINCT {})", "sqlite": "GROUP_CONCAT(DISTINCT {})"}


@cache
def _version_sql(vendor: str, with_ids: bool = False) -> str:
    """The statement of `messenger_version`, written once from the models. It is what
        `Conversation.objects.filter(contacts=…).aggregate(Count("id"), Max("updated_at"),
        Max("ratings__changed_at"), Max("ratings__commented_at"))` runs (a conversation counted
    once, B5: it may have a teammate's rating and the bot's); the ORM would build it again
        on every poll (clone, resolve, compile: ~1.2 ms, most of a 304 poll's time, while the
        statement itself takes ~0.1 ms). `with_ids` adds the conversations' ids (H4)."""
    q = connection.ops.quote_name
    link = Conversation.contacts.through._meta
    conversation_id = q(Conversation._meta.pk.column)
    rating_conversation = q(Rating._meta.get_field("conversation").column)
    ids = f", {_IDS[vendor].format(f'c.{conversation_id}')}" if with_ids else ""
    return (
        f"SELECT COUNT(DISTINCT c.{conversation_id}),"
        f" MAX(c.{q(Conversation._meta.get_field('updated_at').column)}),"
        f" MAX(r.{q(Rating._meta.get_field('changed_at').column)}),"
        f" MAX(r.{q(Rating._meta.get_field('commented_at').column)}){ids}"
        f" FROM {q(Conversation._meta.db_table)} c"
        f" INNER JOIN {q(link.db_table)} l"
        f" ON l.{q(link.get_field('conversation').column)} = c.{conversation_id}"
        f" LEFT OUTER JOIN {q(Rating._meta.db_table)} r"
        f" ON r.{rating_conversation} = c.{conversation_id}"
        f" WHERE l.{q(link.get_field('contact').column)} = %s"
    )


def _thread(
    conversation: Conversation, settings: RatingSettings, now, language: str
) -> MessengerThread:
    parts = conversation.visible_parts
    request = next(
        (
            r
            for r in conversation.requests_newest_first
            if r.channel == "messenger" and r.delivered_at is not None
        ),
        None,
    )
    if request is None or request.channel != "messenger" or request.delivered_at is None:
        return MessengerThread(conversation=conversation, parts=parts)
    if request.app_id:
        return MessengerThread(conversation=conversation, parts=parts, app=request.app)
    return MessengerThread(
        conversation=conversation,
        parts=parts,
        card=rating_state(request=request, settings=settings, now=now, language=language),
        card_token=rating_token(request_id=request.pk, conversation_id=conversation.pk),
    )
