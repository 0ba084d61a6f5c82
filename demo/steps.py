"""The steps of a demo conversation, each one service call, and the plan that holds them.

Nothing in the demo writes a conversation or a part itself: each step calls the service a
teammate's action (or a customer's, or a workflow's) would call, so that the services apply
their rules and keep their running figures as they do for live work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from conversations import services
from conversations.models import BodyFormat, Contact, Conversation, Teammate, Workflow


@dataclass(kw_only=True)
class Step:
    """One service call, `gap` after the previous step."""

    gap: timedelta

    def run(self, conversation: Conversation | None, moment: datetime) -> Conversation:
        raise NotImplementedError


def body_format(body: str) -> str:
    """The demo's sample text is HTML where it starts with a tag (its email templates), else
    what a person typed (E3a)."""
    return BodyFormat.HTML if body.startswith("<") else BodyFormat.TEXT


@dataclass(kw_only=True)
class Start(Step):
    channel: str
    origin: str
    contacts: list[Contact]
    body: str
    started_by: Teammate | Contact | None
    workflow: Workflow | None
    subject: str

    def run(self, conversation, moment):
        return services.conversation_start(
            channel=self.channel,
            origin=self.origin,
            contacts=self.contacts,
            body=self.body,
            body_format=body_format(self.body),
            started_by=self.started_by,
            workflow=self.workflow,
            subject=self.subject,
        )


@dataclass(kw_only=True)
class Reply(Step):
    author: Teammate | Contact
    body: str

    def run(self, conversation, moment):
        services.conversation_reply(
            conversation=conversation,
            author=self.author,
            body=self.body,
            body_format=body_format(self.body),
        )
        return conversation


@dataclass(kw_only=True)
class Note(Step):
    author: Teammate
    body: str

    def run(self, conversation, moment):
        services.conversation_note(
            conversation=conversation,
            author=self.author,
            body=self.body,
            body_format=body_format(self.body),
        )
        return conversation


@dataclass(kw_only=True)
class Bot(Step):
    body: str

    def run(self, conversation, moment):
        services.conversation_bot_message(
            conversation=conversation, body=self.body, body_format=body_format(self.body)
        )
        return conversation


@dataclass(kw_only=True)
class Snooze(Step):
    """Snooze for `length`. A conversation left snoozed (`keep`) wakes at least `keep` after the
    real now: a snooze into the past is refused, and it should still be asleep when looked at."""

    by: Teammate
    length: timedelta
    keep: timedelta | None = None

    def until(self, moment: datetime) -> datetime:
        until = moment + self.length
        if self.keep is not None:
            until = max(until, timezone.now() + self.keep)
        return until

    def run(self, conversation, moment):
        services.conversation_snooze(
            conversation=conversation, by=self.by, until=self.until(moment)
        )
        return conversation


@dataclass(kw_only=True)
class Reopen(Step):
    by: Teammate | Contact

    def run(self, conversation, moment):
        services.conversation_reopen(conversation=conversation, by=self.by)
        return conversation


@dataclass(kw_only=True)
class Close(Step):
    by: Teammate
    quiet: bool = False

    def run(self, conversation, moment):
        services.conversation_close(conversation=conversation, by=self.by, quiet=self.quiet)
        return conversation


@dataclass(kw_only=True)
class BotClose(Step):
    """The bot (an AI agent) closes it (B): with no teammate reply, the bot's own survey."""

    def run(self, conversation, moment):
        services.conversation_bot_close(conversation=conversation)
        return conversation


@dataclass
class Plan:
    """What one conversation will be; `steps` and `start` are filled by its story."""

    index: int
    ending: str
    channel: str
    origin: str
    topic: str
    thread: Mapping[str, str]  # its sample text: subject, question, answer, …
    contacts: list[Contact]
    teammate: Teammate
    helper: Teammate
    workflow: Workflow | None = None
    bot_message: str = ""
    subject: str = ""
    details: dict = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    start: datetime | None = None

    @property
    def group(self) -> bool:
        return len(self.contacts) > 1
