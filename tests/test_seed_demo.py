"""`manage.py seed_demo`: demo data made through the services (Foundation, item 5)."""

import re
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from conversations.models import (
    Channel,
    Contact,
    Conversation,
    ConversationClose,
    Origin,
    Part,
    State,
    Teammate,
)
from conversations.services import TEAMMATES_GROUP
from conversations.text import visible_characters

pytestmark = pytest.mark.django_db


def seed_demo(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def shape(conversations) -> Counter:
    """What a run made, without ids or times."""
    return Counter(
        (
            c.state,
            c.channel,
            c.origin,
            c.subject,
            c.contact_count,
            c.reply_characters,
            c.teammate_reply_count,
            c.parts.count(),
            c.closes.count(),
        )
        for c in conversations
    )


class TestThirtyConversations:
    """One run of 30 conversations, shared by the tests of this class."""

    @pytest.fixture(scope="class")
    @classmethod
    def demo(cls, django_db_setup, django_db_blocker):
        with django_db_blocker.unblock(), transaction.atomic():
            started = timezone.now()
            out = seed_demo(conversations=30, seed=1)
            finished = timezone.now()
            yield {"out": out, "started": started, "finished": finished}
            transaction.set_rollback(True)

    def test_makes_conversations_in_every_state_channel_and_origin(self, demo):
        conversations = Conversation.objects.all()

        assert conversations.count() == 30
        assert set(conversations.values_list("state", flat=True)) == set(State.values)
        assert set(conversations.values_list("channel", flat=True)) == set(Channel.values)
        assert set(conversations.values_list("origin", flat=True)) == set(Origin.values)
        origins = Counter(conversations.values_list("origin", flat=True))
        assert origins[Origin.CUSTOMER] > 30 / 2
        assert conversations.filter(origin=Origin.WORKFLOW, workflow__isnull=True).count() == 0
        assert conversations.filter(contact_count=2).exists()  # a group conversation (E5)

    def test_every_part_is_in_the_last_90_days_and_in_order(self, demo):
        oldest = demo["started"] - timedelta(days=90)
        newest = demo["finished"]

        assert not Part.objects.filter(created_at__lt=oldest).exists()
        assert not Part.objects.filter(created_at__gt=newest).exists()
        for conversation in Conversation.objects.all():
            times = list(conversation.parts.order_by("pk").values_list("created_at", flat=True))
            assert times == sorted(times), conversation.pk
            assert conversation.created_at == times[0]

    def test_snoozed_conversations_wake_in_the_future(self, demo):
        """Z1: a snooze into the past is refused, and a demo snooze is still asleep afterwards."""
        snoozed = Conversation.objects.filter(state=State.SNOOZED)

        assert snoozed.exists()
        assert not snoozed.filter(snoozed_until__lte=demo["finished"]).exists()
        # Older snoozes ended before their wake-up time: by a customer reply (Z3) or a reopen.
        assert Part.objects.filter(
            event=Part.Event.SNOOZED, conversation__state=State.CLOSED
        ).exists()

    def test_closes_cover_the_rating_rules_cases(self, demo):
        closes = ConversationClose.objects.all()

        assert closes.filter(quiet=True).exists()  # E8
        assert closes.filter(contact_count=2).exists()  # E5
        assert closes.filter(teammate_replied=False).exists()  # E2
        assert closes.filter(reply_characters__lte=250, reply_characters__gt=0).exists()  # E3
        assert closes.filter(reply_characters__gt=250).exists()
        late = [
            c for c in closes if c.last_reply_at and c.closed_at - c.last_reply_at > timedelta(7)
        ]
        assert late  # E4
        reopened = Conversation.objects.annotate(n=Count("closes")).filter(n__gt=1)
        assert reopened.exists()  # E6: closed again after a reopen

    def test_replies_notes_and_bot_messages_are_realistic(self, demo):
        replies = Part.objects.filter(kind=Part.Kind.REPLY)

        assert Part.objects.filter(kind=Part.Kind.NOTE).exists()
        assert Part.objects.filter(kind=Part.Kind.BOT).exists()
        assert replies.filter(author_teammate__isnull=False).exists()
        assert replies.filter(author_contact__isnull=False).exists()
        assert replies.filter(body__contains="<p>").exists()
        bodies = list(replies.values_list("body", flat=True))
        assert not any("{" in body for body in bodies)  # every template was filled
        assert min(visible_characters(b) for b in bodies) < 20  # "ok thanks"
        assert max(visible_characters(b) for b in bodies) > 200
        # Running figures are the services' own (E3 counts visible text).
        for conversation in Conversation.objects.all():
            counted = sum(
                visible_characters(body)
                for body in conversation.parts.filter(kind=Part.Kind.REPLY).values_list(
                    "body", flat=True
                )
            )
            assert conversation.reply_characters == counted

    def test_contacts_are_reused_and_on_example_domains(self, demo):
        contacts = Contact.objects.all()

        assert 30 / 3.5 <= contacts.count() <= 30 / 1.5
        assert set(contacts.values_list("role", flat=True)) == set(Contact.Role.values)
        assert all(
            re.fullmatch(r"[a-z0-9._]+@example\.(com|org|net)", email)
            for email in contacts.values_list("email", flat=True)
        )
        assert all(c.conversations.exists() for c in contacts)

    def test_teammates_can_sign_in_with_the_password_printed_once(self, demo):
        out = demo["out"]
        teammates = Teammate.objects.select_related("user")

        assert teammates.count() == 8
        for teammate in teammates:
            user = teammate.user
            assert user.is_staff
            assert list(user.groups.values_list("name", flat=True)) == [TEAMMATES_GROUP]
            assert re.fullmatch(r"[a-z]+\.[a-z]+", user.username)
            assert user.username in out
        password = re.search(r"password for the new logins: (\S+)", out).group(1)
        assert out.count(password) == 1
        assert authenticate(username="ann.lee", password=password) is not None
        assert "state:" in out and "origin:" in out and " s " in out


def test_if_empty_does_nothing_when_there_are_conversations():
    seed_demo(conversations=5, seed=2)
    counts = (Conversation.objects.count(), Part.objects.count(), Contact.objects.count())
    users = get_user_model().objects.count()

    out = seed_demo(conversations=5, seed=2, if_empty=True)

    assert "skipped" in out
    assert (Conversation.objects.count(), Part.objects.count(), Contact.objects.count()) == counts
    assert get_user_model().objects.count() == users


def test_if_empty_seeds_an_empty_database():
    seed_demo(conversations=3, seed=2, if_empty=True)

    assert Conversation.objects.count() == 3


def test_the_same_seed_makes_the_same_conversations():
    out = seed_demo(conversations=20, seed=3)
    first = list(Conversation.objects.all())
    last_pk = max(c.pk for c in first)
    contacts = Contact.objects.count()

    again = seed_demo(conversations=20, seed=3)

    second = list(Conversation.objects.filter(pk__gt=last_pk))
    assert shape(second) == shape(first)
    assert Contact.objects.count() == contacts  # the same people come back
    assert Teammate.objects.count() == 8
    assert "password for the new logins" in out
    assert "password for the new logins" not in again  # existing logins keep theirs


def test_another_seed_makes_other_conversations():
    seed_demo(conversations=20, seed=4)
    first = list(Conversation.objects.all())
    last_pk = max(c.pk for c in first)

    seed_demo(conversations=20, seed=5)

    assert shape(Conversation.objects.filter(pk__gt=last_pk)) != shape(first)
