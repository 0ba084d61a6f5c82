"""`manage.py seed_demo`: demo data made through the services (Foundation, item 5), with the
rating side played by the real rules and services (rating spine, item 6)."""

import re
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F
from django.test import RequestFactory
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
from conversations.signals import conversation_closed
from conversations.text import visible_characters
from ratings.models import Rating, RatingDecision, RatingEvent, RatingRequest, RatingSettings

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


def answers(conversations) -> Counter:
    """What the rating side made of a run, without ids or times."""
    return Counter(
        (
            tuple(c.rating_decisions.order_by("decided_at").values_list("outcome", "rule")),
            tuple(
                (value, comment, tuple(reasons))
                for value, comment, reasons in Rating.objects.filter(conversation=c).values_list(
                    "value", "comment", "reasons"
                )
            ),
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
        teammates = Teammate.objects.select_related("user").exclude(user__username="mia.manager")

        assert teammates.count() == 8
        for teammate in teammates:
            user = teammate.user
            assert user.is_staff
            assert list(user.groups.values_list("name", flat=True)) == [TEAMMATES_GROUP]
            assert re.fullmatch(r"[a-z]+\.[a-z]+", user.username)
            assert user.username in out
        password = re.search(r"password for the new logins: (\S+)", out).group(1)
        assert out.count(password) == 1
        # K7: axes watches every authenticate() and needs the request (the sign-in page's).
        signin = RequestFactory().post("/accounts/login/")
        assert authenticate(signin, username="ann.lee", password=password) is not None
        assert "state:" in out and "origin:" in out and " s " in out

    def test_every_close_is_decided_by_the_rules(self, demo):
        """E1–E8, D5: each close has its decision, made by the real rules; surveys went out
        and closes were skipped for several reasons, each named by its rule."""
        decisions = RatingDecision.objects.all()
        skipped = decisions.filter(outcome=RatingDecision.Outcome.SKIPPED)

        assert not ConversationClose.objects.filter(decision__isnull=True).exists()
        assert decisions.count() == ConversationClose.objects.count()
        assert decisions.filter(outcome=RatingDecision.Outcome.SENT).count() >= 3
        assert len(set(skipped.values_list("rule", flat=True))) >= 3
        assert {"E8", "E6"} <= set(skipped.values_list("rule", flat=True))
        # The worker decides before any reopen, as the queued task does right after the close.
        assert not skipped.filter(rule="reopened").exists()
        # D2, D4: one request per conversation, delivered once, on the close that sent it.
        requests = RatingRequest.objects.select_related("close")
        assert requests.count() == decisions.filter(outcome="sent").count()
        assert not requests.filter(delivered_at__isnull=True).exists()
        for request in requests:
            assert request.close.decision.request_id == request.pk
            assert request.teammate_id == request.close.last_teammate_replier_id
        assert Part.objects.filter(event=Part.Event.RATING_REQUESTED).count() == requests.count()

    def test_surveys_are_emailed_to_no_one(self, demo):
        """The email surveys are built and delivered, through a backend that drops them."""
        assert RatingRequest.objects.filter(channel=Channel.EMAIL).exists()
        assert mail.outbox == []

    def test_the_close_receiver_is_connected_again(self, demo):
        assert any(key[0] == "ratings.enqueue" for key, *_ in conversation_closed.receivers)

    def test_customers_rate_change_and_comment(self, demo):
        """A1, A2: several reactions, a change and comments, with reasons after low ones."""
        ratings = Rating.objects.all()
        reasons = set(RatingSettings.load().reasons)

        assert len(set(ratings.values_list("value", flat=True))) >= 3
        assert ratings.filter(commented_at__isnull=False).count() >= 2
        assert ratings.exclude(changed_at=F("rated_at")).exists()
        for rating in ratings.filter(commented_at__isnull=False):
            assert rating.comment or rating.reasons
            assert "{" not in rating.comment
        low = ratings.filter(value__lte=2).exclude(reasons=[])
        assert low.exists()
        for rating in ratings.exclude(reasons=[]):
            assert rating.value <= 2
            assert set(rating.reasons) <= reasons and 1 <= len(rating.reasons) <= 2
            assert sorted(rating.reason_rows.values_list("reason", flat=True)) == sorted(
                rating.reasons
            )

    def test_decisions_and_answers_are_in_the_past_90_days_after_their_close(self, demo):
        oldest = demo["started"] - timedelta(days=90)
        newest = demo["finished"]

        for decision in RatingDecision.objects.select_related("close"):
            assert oldest <= decision.decided_at <= newest
            assert decision.decided_at > decision.close.closed_at
        for rating in Rating.objects.select_related("request__close"):
            closed_at = rating.request.close.closed_at
            assert closed_at < rating.rated_at <= rating.changed_at <= newest
            assert rating.rated_at >= oldest
            if rating.commented_at:
                assert rating.changed_at <= rating.commented_at <= newest
        for at in RatingEvent.objects.values_list("at", flat=True):
            assert oldest <= at <= newest

    def test_history_matches_the_ratings(self, demo):
        """A8: a rating's history is its first reaction, its change if any, then its comment."""
        for rating in Rating.objects.prefetch_related("history"):
            history = list(rating.history.all())
            kinds = [event.kind for event in history]
            changed = rating.changed_at != rating.rated_at
            commented = rating.commented_at is not None
            assert kinds == ["rated"] + ["changed"] * changed + ["commented"] * commented
            assert history[0].at == rating.rated_at
            assert history[-1].value == rating.value
            if changed:
                assert len(history) >= 2 and history[0].value != rating.value
                assert history[1].at == rating.changed_at
            if commented:
                assert (history[-1].comment, history[-1].reasons) == (
                    rating.comment,
                    rating.reasons,
                )
        rated = Part.objects.filter(event=Part.Event.RATED).count()
        assert rated == RatingEvent.objects.exclude(kind="commented").count()

    def test_summary_reports_decisions_and_ratings(self, demo):
        out = demo["out"]
        sent = RatingDecision.objects.filter(outcome="sent").count()

        assert re.search(rf"decided: +{RatingDecision.objects.count()} closes: {sent} surveys", out)
        assert re.search(r"skipped \((E\d \d+, )+E\d \d+\)", out)
        assert f"ratings:  {Rating.objects.count()} " in out
        assert "changed" in out and "with a comment" in out
        assert re.search(r"elapsed: +\d+\.\d s", out)


def rating_counts() -> tuple:
    return (
        RatingDecision.objects.count(),
        RatingRequest.objects.count(),
        Rating.objects.count(),
        RatingEvent.objects.count(),
    )


def test_if_empty_does_nothing_when_there_are_conversations():
    seed_demo(conversations=12, seed=2)
    counts = (Conversation.objects.count(), Part.objects.count(), Contact.objects.count())
    ratings = rating_counts()
    users = get_user_model().objects.count()
    assert ratings[0] > 0

    out = seed_demo(conversations=12, seed=2, if_empty=True)

    assert "skipped" in out
    assert (Conversation.objects.count(), Part.objects.count(), Contact.objects.count()) == counts
    assert rating_counts() == ratings
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
    assert answers(second) == answers(first)
    assert Contact.objects.count() == contacts  # the same people come back
    assert Teammate.objects.count() == 8 + 1  # and the manager
    assert "password for the new logins" in out
    assert "password for the new logins" not in again  # existing logins keep theirs


def test_another_seed_makes_other_conversations():
    seed_demo(conversations=20, seed=4)
    first = list(Conversation.objects.all())
    last_pk = max(c.pk for c in first)

    seed_demo(conversations=20, seed=5)

    assert shape(Conversation.objects.filter(pk__gt=last_pk)) != shape(first)


def test_the_demo_has_a_manager_who_reads_the_reports(client):
    """A way in for every role: the demo's manager (a teammate in the Managers group, printed
    with the other logins and their password) opens the reports; a plain demo teammate does
    not."""
    out = seed_demo(conversations=5, seed=6)

    manager = get_user_model().objects.get(username="mia.manager")
    assert set(manager.groups.values_list("name", flat=True)) == {TEAMMATES_GROUP, "Managers"}
    assert manager.is_staff and not manager.is_superuser
    assert not manager.teammate.assigned.exists()  # she takes none
    assert re.search(r"Manager login .*Managers.*\n  mia\.manager +Mia Lindqvist\n", out)
    password = re.search(r"password for the new logins: (\S+)", out).group(1)
    assert out.count(password) == 1

    # K7: through the sign-in page (axes needs the request that client.login does not pass).
    signin = {"username": "mia.manager", "password": password}
    assert client.post("/accounts/login/", signin).status_code == 302
    assert client.get("/reports/").status_code == 200
    client.logout()
    signin = {"username": "ann.lee", "password": password}
    assert client.post("/accounts/login/", signin).status_code == 302
    assert client.get("/reports/teammates/").status_code == 403

    again = seed_demo(conversations=0, seed=6)
    assert "mia.manager" in again and "existed: password unchanged" not in again
    assert get_user_model().objects.filter(username="mia.manager").count() == 1
