"""Writes on conversations: one function per state change, one transaction each.

Every function takes keyword arguments, validates its input and the state change, and raises
`ValidationError` with a message a teammate can read; a refused call writes nothing. The
conversation row is locked for the length of the change, so two teammates acting at once are
put in order. The caller's `conversation` object is brought up to date on success.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django_q.tasks import async_task

from conversations import clock, poll_versions
from conversations.assignment import conversation_assign  # noqa: F401 - under its name
from conversations.identity import (  # noqa: F401 - the Messenger's people (W1–W4)
    SESSION_ENDED,
    IdentityRefused,
    contact_details_set,
    messenger_lead,
    messenger_links_revoke,
    messenger_user,
    session_contact,
    session_contact_id,
    session_contact_of,
    session_token,
)
from conversations.models import (
    Channel,
    Contact,
    Conversation,
    ConversationClose,
    Origin,
    Part,
    State,
    Teammate,
    Workflow,
)
from conversations.people import (  # noqa: F401 - offered here under their DESIGN.md names
    ADMINS_GROUP,
    TEAMMATES_GROUP,
    contact_create,
    contact_language_set,
    contacts_create,
    teammate_create,
)
from conversations.signals import conversation_closed, part_added
from conversations.text import (
    HTML,
    message_body,
    message_id_clean,
    message_preview,
    refuse_nul,
    visible_characters,
)

WAKE_BATCH = 500
# The columns each kind of change writes (a narrower UPDATE than every column).
REPLY_FIELDS = [
    "reply_characters",
    "last_reply_at",
    "last_message_at",
    "last_message_from",
    "preview",
    "teammate_reply_count",
    "last_teammate_replier",
    "assignee",
    "updated_at",
]
STATE_FIELDS = ["state", "snoozed_until", "updated_at"]


# --- helpers ----------------------------------------------------------------------------------


class ConversationMissing(ValidationError):
    """No conversation has the id the caller's object names (an API answers it with 404)."""


def _locked(conversation: Conversation, queryset=None) -> Conversation:
    """The conversation's row, read and locked for the rest of the transaction. `conversation`
    may be a bare `Conversation(pk=…)`: the row is read here either way (and copied into the
    caller's object on success)."""
    if conversation.pk is None:
        raise ValidationError("This conversation has not been saved.")
    queryset = Conversation.objects.all() if queryset is None else queryset
    found = queryset.select_for_update(of=("self",)).order_by().filter(pk=conversation.pk)[:1]
    locked = next(iter(found), None)  # no ORDER BY: the primary key names one row
    if locked is None:
        raise ConversationMissing(f"Conversation #{conversation.pk} does not exist.")
    return locked


def _copy_state(target: Conversation, source: Conversation) -> None:
    for field in Conversation._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _require_teammate(person, action: str) -> Teammate:
    if not isinstance(person, Teammate) or person.pk is None:
        raise ValidationError(f"Only a teammate can {action}.")
    return person


def _event(
    conversation: Conversation, event: str, *, at: datetime, by=None, body="", message_id=""
) -> Part:
    part = event_part(conversation, event, at=at, by=by, body=body, message_id=message_id)
    part.save(force_insert=True)
    return part


def _announce(part: Part) -> Part:
    """`part_added`, inside the transaction that made the part: a receiver's own writes (an
    email to send, say) commit or roll back with it."""
    part_added.send(sender=Part, part=part)
    return part


def _add_reply(
    conversation: Conversation,
    author,
    body: str,
    at: datetime,
    message_id: str = "",
    body_format: str = HTML,
) -> Part:
    """Append a reply and move the running figures on (E2, E3, E4, D2)."""
    part = reply_made(conversation, author, body, at, message_id, body_format)
    part.save(force_insert=True)
    return part


# --- in memory: what each change does to a conversation -------------------------------------
#
# The parts a change adds (unsaved) and the conversation's running figures and inbox columns it
# moves on, on the caller's instance, with no query: the services below save what these make,
# and the demo's set-based path (`demo.bulk`) writes the same instances in bulk. Input is
# checked by the services, not here.


def event_part(
    conversation: Conversation, event: str, *, at: datetime, by=None, body="", message_id=""
) -> Part:
    """An event in the thread (unsaved)."""
    return Part(
        conversation=conversation,
        kind=Part.Kind.EVENT,
        event=event,
        author_teammate=by if isinstance(by, Teammate) else None,
        author_contact=by if isinstance(by, Contact) else None,
        body=body,
        message_id=message_id,
        created_at=at,
    )


def reply_made(
    conversation: Conversation,
    author,
    body: str,
    at: datetime,
    message_id: str = "",
    body_format: str = HTML,
) -> Part:
    """A reply (unsaved), and the running figures moved on (E2, E3, E4, D2) and the inbox's
    columns (I1, I2)."""
    part = Part(
        conversation=conversation,
        kind=Part.Kind.REPLY,
        author_teammate=author if isinstance(author, Teammate) else None,
        author_contact=author if isinstance(author, Contact) else None,
        body=body,
        body_format=body_format,
        message_id=message_id,
        created_at=at,
    )
    # E3a/E3b: the characters a reader sees of it, the same text the pages draw.
    conversation.reply_characters += visible_characters(body, body_format)
    conversation.last_reply_at = conversation.last_message_at = at
    conversation.last_message_from = "teammate" if isinstance(author, Teammate) else "contact"
    conversation.preview = message_preview(body, body_format=body_format)
    if isinstance(author, Teammate):
        conversation.teammate_reply_count += 1
        conversation.last_teammate_replier = author
        if conversation.assignee_id is None:
            conversation.assignee = author
    conversation.updated_at = at
    return part


def conversation_made(
    *, channel, origin, people, body, started_by, workflow, subject, body_format, at, message_id=""
) -> tuple[Conversation, Part]:
    """A new conversation and its first part (both unsaved): the bot's message when no one
    started it (B: its figures), else the starter's reply."""
    conversation = Conversation(
        subject=subject,
        channel=channel,
        origin=origin,
        state=State.OPEN,
        workflow=workflow,
        started_by_teammate=started_by if origin == Origin.DIRECT_OUTBOUND else None,
        contact_count=len(people),
        created_at=at,
        updated_at=at,
        last_message_at=at,
        first_line=message_preview(body, body_format=body_format, first_line=True),
        preview=message_preview(body, body_format=body_format),
        bot_characters=visible_characters(body, body_format) if started_by is None else 0,
        last_bot_message_at=at if started_by is None else None,
    )
    if started_by is None:
        part = Part(
            conversation=conversation,
            kind=Part.Kind.BOT,
            body=body,
            body_format=body_format,
            message_id=message_id,
            created_at=at,
        )
    else:
        part = reply_made(conversation, started_by, body, at, message_id, body_format)
    return conversation, part


def contact_reply_reopens(conversation: Conversation, author, at: datetime) -> Part | None:
    """Z3: a contact's reply to a snoozed or closed conversation reopens it first (the event,
    unsaved); None when it is open or the author is a teammate."""
    if not isinstance(author, Contact) or conversation.state == State.OPEN:
        return None
    part = event_part(conversation, Part.Event.REOPENED, at=at, by=author)
    conversation.state = State.OPEN
    conversation.snoozed_until = None
    return part


def note_made(conversation: Conversation, author: Teammate, body: str, body_format: str, at):
    part = Part(
        conversation=conversation,
        kind=Part.Kind.NOTE,
        author_teammate=author,
        body=body,
        body_format=body_format,
        created_at=at,
    )
    conversation.updated_at = at
    return part


def bot_message_made(conversation: Conversation, body: str, body_format: str, at) -> Part:
    part = Part(
        conversation=conversation,
        kind=Part.Kind.BOT,
        body=body,
        body_format=body_format,
        created_at=at,
    )
    conversation.bot_characters += visible_characters(body, body_format)
    conversation.last_bot_message_at = at
    conversation.updated_at = at
    return part


def snooze_made(conversation: Conversation, by: Teammate, until: datetime, at) -> Part:
    conversation.state = State.SNOOZED
    conversation.snoozed_until = until
    conversation.updated_at = at
    return event_part(
        conversation, Part.Event.SNOOZED, at=at, by=by, body=f"until {until.isoformat()}"
    )


def reopen_made(conversation: Conversation, by, at) -> Part:
    conversation.state = State.OPEN
    conversation.snoozed_until = None
    conversation.updated_at = at
    return event_part(conversation, Part.Event.REOPENED, at=at, by=by)


def close_made(
    conversation: Conversation, *, by: Teammate | None, quiet, role: str | None, at
) -> tuple[ConversationClose, Part]:
    """The close with the facts the rating rules need as they are now (E1–E5, B), the
    conversation closed, and the close's event (both unsaved). `role`: the role of the
    conversation's contact (read for one contact only: a group's is "", E5's)."""
    close = ConversationClose(
        conversation=conversation,
        closed_by=by,
        closed_at=at,
        quiet=bool(quiet),
        by_bot=by is None,
        bot_characters=conversation.bot_characters,
        last_bot_message_at=conversation.last_bot_message_at,
        reply_characters=conversation.reply_characters,
        last_reply_at=conversation.last_reply_at,
        teammate_replied=conversation.teammate_reply_count > 0,
        last_teammate_replier_id=conversation.last_teammate_replier_id,
        contact_count=conversation.contact_count,
        contact_role=(role or "") if conversation.contact_count == 1 else "",
    )
    conversation.state = State.CLOSED
    conversation.snoozed_until = None
    conversation.closed_at = at
    conversation.updated_at = at
    event = Part.Event.CLOSED_QUIETLY if quiet else Part.Event.CLOSED
    return close, event_part(conversation, event, at=at, by=by)


def event_made(conversation: Conversation, event: str, *, at, by=None, body="", message_id=""):
    """conversation_event's change: `updated_at` moved, the event (unsaved)."""
    conversation.updated_at = at
    return event_part(conversation, event, at=at, by=by, body=body, message_id=message_id)


# K16: the longest message a person may type, in characters: the API's `body` and the admin's
# reply and note boxes read it (a form and a serializer), as does the Messenger widget. Mail
# taken in is not held to it (an HTML email can be longer, and is not typed here).
MESSAGE_MAX_LENGTH = 50_000


def message_length_check(body: str) -> str:
    """K16: `body` when it is at most MESSAGE_MAX_LENGTH characters, else a ValidationError."""
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            f"A message is at most {MESSAGE_MAX_LENGTH:,} characters; this one has {len(body):,}.",
            code="max_length",
        )
    return body


# --- lifecycle --------------------------------------------------------------------------------


def conversation_start(
    *,
    channel: str,
    origin: str,
    contacts: Iterable[Contact],
    body: str,
    started_by: Teammate | Contact | None = None,
    workflow: Workflow | None = None,
    subject: str = "",
    message_id: str = "",
    body_format: str = HTML,
) -> Conversation:
    """`body_format` (here and in every write of a message): `text` for what a person typed,
    stored as typed (E3a); `html`, the default, for formatted text, sanitised (E3b).

    Every refusal is raised before the first write; the writes are one transaction, the
    caller's when there is one (no savepoint of their own: a database error fails the
    caller's transaction, as it would on PostgreSQL anyway)."""
    if channel not in Channel.values:
        raise ValidationError(f"Unknown channel {channel!r}: use 'messenger' or 'email'.")
    if origin not in Origin.values:
        raise ValidationError(
            f"Unknown origin {origin!r}: use 'customer', 'direct_outbound', 'workflow' or 'api'."
        )
    people = list(contacts or ())
    if not people:
        raise ValidationError("A conversation needs at least one contact.")
    if any(not isinstance(c, Contact) or c.pk is None for c in people):
        raise ValidationError("Contacts must be saved Contact records.")
    people = list(dict.fromkeys(people))
    body = message_body(body, body_format)
    message_id = message_id_clean(message_id)
    subject = (subject or "").strip()
    refuse_nul(subject, "subject")
    if len(subject) > 255:
        raise ValidationError("The subject is longer than 255 characters.")

    if origin == Origin.CUSTOMER:
        if not isinstance(started_by, Contact) or started_by not in people:
            raise ValidationError(
                "A customer conversation is started by one of its contacts (started_by)."
            )
    elif origin == Origin.DIRECT_OUTBOUND:
        if not isinstance(started_by, Teammate) or started_by.pk is None:
            raise ValidationError("A direct outbound conversation is started by a teammate.")
    elif started_by is not None:
        raise ValidationError(
            f"A conversation started by {Origin(origin).label.lower()} has no started_by: "
            "its first part is a bot message."
        )
    if origin == Origin.WORKFLOW and workflow is None:
        raise ValidationError("A workflow conversation names the workflow that started it.")
    if origin != Origin.WORKFLOW and workflow is not None:
        raise ValidationError("Only a conversation started by a workflow names a workflow.")

    with transaction.atomic(savepoint=False):
        return _start(
            channel=channel,
            origin=origin,
            people=people,
            body=body,
            started_by=started_by,
            workflow=workflow,
            subject=subject,
            message_id=message_id,
            body_format=body_format,
        )


def _start(
    *, channel, origin, people, body, started_by, workflow, subject, message_id, body_format
) -> Conversation:
    """conversation_start's writes, its input checked."""
    conversation, part = conversation_made(
        channel=channel,
        origin=origin,
        people=people,
        body=body,
        started_by=started_by,
        workflow=workflow,
        subject=subject,
        body_format=body_format,
        at=clock.now(),
        message_id=message_id,
    )
    conversation.save(force_insert=True)
    conversation.contacts.add(*people)
    # H4: a conversation more in each contact's set (the links' INSERT sends no signal we hear)
    poll_versions.bump(conversation_ids=[conversation.pk], contact_ids=[p.pk for p in people])
    part.save(force_insert=True)
    _announce(part)
    return conversation


@transaction.atomic
def conversation_reply(
    *,
    conversation: Conversation,
    author: Teammate | Contact,
    body: str,
    message_id: str = "",
    body_format: str = HTML,
) -> Part:
    """A reply visible to the customer. A contact's reply reopens a snoozed or closed
    conversation at once (Z3); a teammate reopens a closed one before replying. `message_id`
    is the email's, for a reply that came by mail: the same one twice is refused."""
    body = message_body(body, body_format)
    message_id = message_id_clean(message_id)
    if not isinstance(author, Teammate | Contact) or author.pk is None:
        raise ValidationError("A reply is written by a teammate or a contact.")
    locked = _locked(conversation)
    now = clock.now()
    if isinstance(author, Contact):
        if not locked.contacts.filter(pk=author.pk).exists():
            raise ValidationError(f"{author} is not part of this conversation.")
        reopened = contact_reply_reopens(locked, author, now)
        if reopened is not None:
            reopened.save(force_insert=True)
    elif locked.state == State.CLOSED:
        raise ValidationError("This conversation is closed: reopen it before replying.")
    if message_id and locked.parts.filter(message_id=message_id).exists():
        raise ValidationError("This message is in the conversation already.", code="duplicate")
    part = _add_reply(locked, author, body, now, message_id, body_format)
    locked.save(update_fields=REPLY_FIELDS + STATE_FIELDS[:2])
    _copy_state(conversation, locked)
    return _announce(part)


@transaction.atomic
def conversation_note(
    *, conversation: Conversation, author: Teammate, body: str, body_format: str = HTML
) -> Part:
    """An internal note: teammates only, never seen by the customer, never counted (E3)."""
    _require_teammate(author, "write an internal note")
    body = message_body(body, body_format)
    locked = _locked(conversation)
    now = clock.now()
    part = note_made(locked, author, body, body_format, now)
    part.save(force_insert=True)
    locked.save(update_fields=["updated_at"])
    _copy_state(conversation, locked)
    return part


@transaction.atomic
def conversation_bot_message(
    *, conversation: Conversation, body: str, body_format: str = HTML
) -> Part:
    """A message by the bot: visible, but not a reply (E3 does not count it)."""
    body = message_body(body, body_format)
    locked = _locked(conversation)
    now = clock.now()
    part = bot_message_made(locked, body, body_format, now)
    part.save(force_insert=True)
    locked.save(update_fields=["bot_characters", "last_bot_message_at", "updated_at"])
    _copy_state(conversation, locked)
    return _announce(part)


def conversation_event(
    *,
    conversation: Conversation,
    event: str,
    body: str = "",
    by: Teammate | Contact | None = None,
    message_id: str = "",
) -> Part:
    """Record something that happened in the thread (a rating requested or given, say) without
    changing the conversation's state. Events are not replies (E3 does not count them);
    `message_id` is that of an email the event sent (the survey's).

    Two statements, in the caller's transaction when there is one (no savepoint: refusals
    come before the writes): the conversation's `updated_at` moved (which locks its row, as
    every change of the conversation does, before the part is added), then the part. Of the
    caller's object only `updated_at` changes: an event changes nothing else."""
    if event not in Part.Event.values:
        raise ValidationError(f"Unknown event {event!r}.")
    if conversation.pk is None:
        raise ValidationError("This conversation has not been saved.")
    message_id = message_id_clean(message_id)
    now = clock.now()
    with transaction.atomic(savepoint=False):
        if not Conversation.objects.filter(pk=conversation.pk).update(updated_at=now):
            raise ConversationMissing(f"Conversation #{conversation.pk} does not exist.")
        part = _event(conversation, event, at=now, by=by, body=body, message_id=message_id)
        poll_versions.bump(conversation_ids=[conversation.pk])  # H4: an update(), no signal
    conversation.updated_at = now
    return part


@transaction.atomic
def conversation_snooze(*, conversation: Conversation, by: Teammate, until: datetime) -> None:
    """Z1: set an open conversation aside until `until`. It is not closed (E7)."""
    _require_teammate(by, "snooze a conversation")
    if not isinstance(until, datetime) or until.tzinfo is None:
        raise ValidationError("Snooze until a date and time with a time zone.")
    locked = _locked(conversation)
    now = clock.now()
    if locked.state == State.CLOSED:
        raise ValidationError("This conversation is closed: reopen it before snoozing.")
    if until <= now:
        raise ValidationError("The snooze time is in the past: choose a time to come.")
    event = snooze_made(locked, by, until, now)
    locked.save(update_fields=STATE_FIELDS)
    event.save(force_insert=True)
    _copy_state(conversation, locked)


@transaction.atomic
def conversation_reopen(*, conversation: Conversation, by: Teammate | Contact) -> None:
    if not isinstance(by, Teammate | Contact) or by.pk is None:
        raise ValidationError("A conversation is reopened by a teammate or a contact.")
    locked = _locked(conversation)
    if locked.state == State.OPEN:
        raise ValidationError("This conversation is already open.")
    event = reopen_made(locked, by, clock.now())
    locked.save(update_fields=STATE_FIELDS)
    event.save(force_insert=True)
    _copy_state(conversation, locked)


@transaction.atomic
def conversation_close(
    *, conversation: Conversation, by: Teammate, quiet: bool = False
) -> ConversationClose:
    """Close the conversation and keep the facts of this close; `conversation_closed` is sent
    once the transaction commits. A quiet close (E8) is recorded as such. The number of
    queries does not depend on the length of the thread."""
    _require_teammate(by, "close a conversation")
    return _close(conversation, by=by, quiet=quiet)


@transaction.atomic
def conversation_bot_close(*, conversation: Conversation, quiet: bool = False) -> ConversationClose:
    """The bot (an AI agent) closes the conversation: the close is recorded as the bot's
    (`by_bot`, no teammate), otherwise as `conversation_close` (B: bot ratings)."""
    return _close(conversation, by=None, quiet=quiet)


def _close(conversation: Conversation, *, by: Teammate | None, quiet) -> ConversationClose:
    # The contact's role in the same statement as the lock (E1): read for a conversation with
    # one contact only, as a group's role is "" (E5's); `contact_count` is kept at the start.
    role = Contact.objects.filter(conversations=OuterRef("pk")).order_by().values("role")[:1]
    locked = _locked(conversation, Conversation.objects.annotate(contact_role=Subquery(role)))
    if locked.state == State.CLOSED:
        raise ValidationError("This conversation is already closed.")
    close, event = close_made(locked, by=by, quiet=quiet, role=locked.contact_role, at=clock.now())
    close.save(force_insert=True)
    locked.save(update_fields=[*STATE_FIELDS, "closed_at"])
    event.save(force_insert=True)
    _copy_state(conversation, locked)
    transaction.on_commit(
        partial(
            conversation_closed.send,
            sender=Conversation,
            conversation=locked,
            close=close,
            quiet=bool(quiet),
        )
    )
    return close


def conversations_wake_due(*, now: datetime | None = None) -> int:
    """Z2: reopen every snoozed conversation whose time has come and remind its assignee.
    Run every minute by a schedule; several workers may run it at once (rows are skipped
    when another worker holds them). Returns how many conversations woke."""
    now = now or clock.now()
    woken = 0
    while True:
        with transaction.atomic():
            due = list(
                Conversation.objects.select_for_update(skip_locked=True)
                .filter(state=State.SNOOZED, snoozed_until__lte=now)
                .order_by("snoozed_until")[:WAKE_BATCH]
            )
            for conversation in due:
                conversation.state = State.OPEN
                conversation.snoozed_until = None
                conversation.updated_at = now
                conversation.save(update_fields=STATE_FIELDS)
                _event(conversation, Part.Event.WOKE, at=now)
                if conversation.assignee_id:
                    transaction.on_commit(
                        partial(
                            async_task,
                            "conversations.tasks.snooze_reminder_send",
                            conversation.pk,
                            task_name=f"snooze-reminder-{conversation.pk}-{now:%Y%m%d%H%M%S}",
                        )
                    )
        woken += len(due)
        if len(due) < WAKE_BATCH:
            return woken
