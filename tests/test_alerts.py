"""Alerts (N1–N5): a terrible or bad rating, and a comment on one, emailed to the teammate
rated and the managers, once, through an outbox written in the answer's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conversations.outbox import DeliveryFailed
from ratings import alerts
from ratings.alerts import (
    rating_alert_digests_send,
    rating_alerts_send,
    rating_alerts_sweep,
    unsubscribe_token,
)
from ratings.answers import rating_comment, rating_submit
from ratings.configure import rating_settings_update
from ratings.models import AlertDelivery, AlertDigest, ManagerAlerts, RatingAlert
from tests.factories import ContactFactory, settings_copy_warm
from tests.report_helpers import DAY, make_manager, requested, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(db):
    return make_manager(name="Mona Manager", email="mona@example.com")


def _request(capture, teammate, *, contact=None):
    contact = contact or ContactFactory(name="Ann Lee", email="ann@example.com")
    return requested(capture, teammate, at=DAY - timedelta(minutes=30), contact=contact)


def _submit(capture, request, value, *, at=DAY, auto=False):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return rating_submit(token=token_for(request), value=value, auto=auto)


def _comment(capture, request, text, *, at=DAY + timedelta(minutes=1), reasons=()):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return rating_comment(token=token_for(request), comment=text, reasons=reasons)


def _alerts_to(address):
    return [m for m in mail.outbox if address in m.to and "rating" in m.subject.lower()]


def _clear():
    mail.outbox.clear()


# --- N1 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, alerted", [(1, True), (2, True), (3, False), (5, False)])
def test_N1_a_rating_of_1_or_2_alerts_the_teammate_and_the_managers_3_to_5_no_one(
    capture, teammate, boss, value, alerted
):
    request = _request(capture, teammate)
    _clear()
    rating = _submit(capture, request, value)
    assert RatingAlert.objects.filter(rating=rating).exists() is alerted
    expected = 1 if alerted else 0
    assert len(_alerts_to("tess@example.com")) == expected
    assert len(_alerts_to("mona@example.com")) == expected


def test_N1_the_alert_names_the_rating_and_links_to_the_conversation_and_the_follow_up(
    capture, teammate, boss
):
    request = _request(capture, teammate)
    _clear()
    rating = _submit(capture, request, 1)
    (message,) = _alerts_to("tess@example.com")
    assert message.subject == f"Terrible rating from Ann Lee on #{rating.conversation_id}"
    html = message.alternatives[0][0]
    conversation = f"http://testserver/admin/conversations/conversation/{rating.conversation_id}/"
    follow_up = (
        f"http://testserver/reports/comments/?from=2025-03-10&to=2025-03-10"
        f"&teammate={teammate.pk}&reaction=1#rating-{rating.pk}"
    )
    for body in (message.body, html):
        assert conversation in body
        assert follow_up.replace("&", "&amp;" if body is html else "&") in body
        assert "/alerts/unsubscribe/" in body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_N1_a_change_into_1_2_alerts_once_and_a_change_within_1_2_not_again(
    capture, teammate, boss
):
    request = _request(capture, teammate)
    _submit(capture, request, 4)
    _clear()
    _submit(capture, request, 2, at=DAY + timedelta(minutes=5))
    _submit(capture, request, 1, at=DAY + timedelta(minutes=6))
    _submit(capture, request, 5, at=DAY + timedelta(minutes=7))
    _submit(capture, request, 1, at=DAY + timedelta(minutes=8))
    assert RatingAlert.objects.filter(request=request).count() == 1
    assert len(_alerts_to("tess@example.com")) == 1
    assert len(_alerts_to("mona@example.com")) == 1


def test_N1_a_manager_who_is_the_teammate_rated_gets_one_email(capture, boss):
    request = _request(capture, boss)
    _clear()
    _submit(capture, request, 1)
    assert len(_alerts_to("mona@example.com")) == 1
    assert AlertDelivery.objects.get().role == AlertDelivery.Role.TEAMMATE


def test_N1_a_rating_without_a_teammate_alerts_the_managers_only(capture, teammate, boss):
    request = _request(capture, teammate)
    request.teammate = None
    request.save(update_fields=["teammate"])
    _clear()
    _submit(capture, request, 2)
    assert [m.to for m in mail.outbox] == [["mona@example.com"]]


# --- N2 -----------------------------------------------------------------------------------------


def test_N2_a_comment_on_a_low_rating_sends_one_comment_alert(capture, teammate, boss):
    request = _request(capture, teammate)
    _submit(capture, request, 2)
    _clear()
    _comment(capture, request, "Nobody read my question.", reasons=["Slow to answer"])
    (message,) = _alerts_to("tess@example.com")
    assert message.subject.startswith("Comment on a bad rating from Ann Lee on #")
    assert "Nobody read my question." in message.body
    assert "Slow to answer" in message.body
    assert len(_alerts_to("mona@example.com")) == 1
    assert RatingAlert.objects.filter(request=request).count() == 2


def test_N2_a_comment_on_a_rating_of_3_to_5_alerts_no_one(capture, teammate, boss):
    request = _request(capture, teammate)
    _submit(capture, request, 3)
    _comment(capture, request, "Fine, I guess.")
    assert RatingAlert.objects.count() == 0
    assert _alerts_to("tess@example.com") == []


def test_N2_a_comment_before_the_rating_alert_went_out_rides_with_it(capture, teammate, boss):
    """An auto post's alert waits out the scanner window (A10); a comment made meanwhile is
    in the rating's alert, and its own alert is cancelled."""
    request = _request(capture, teammate)
    _submit(capture, request, 1, auto=True)
    _comment(capture, request, "Rude answer.", at=DAY + timedelta(seconds=20))
    assert _alerts_to("tess@example.com") == []  # both wait: the rating's is not due yet
    with time_machine.travel(DAY + timedelta(seconds=90), tick=False):
        rating_alerts_sweep()
    (message,) = _alerts_to("tess@example.com")
    assert message.subject.startswith("Terrible rating from Ann Lee")
    assert "Rude answer." in message.body
    with time_machine.travel(DAY + timedelta(minutes=10), tick=False):
        rating_alerts_sweep()
    comment_alert = RatingAlert.objects.get(kind=RatingAlert.Kind.COMMENTED)
    assert comment_alert.cancel_reason == alerts.INCLUDED_REASON
    assert len(_alerts_to("tess@example.com")) == 1


# --- N3 -----------------------------------------------------------------------------------------


def test_N3_a_teammate_who_turned_alerts_off_is_not_emailed(client, capture, teammate, boss):
    client.force_login(teammate.user)
    assert "Turn rating alerts off" in client.get("/alerts/").content.decode()
    response = client.post("/alerts/", {"alerts": "off"})
    assert response.status_code == 302
    request = _request(capture, teammate)
    _clear()
    _submit(capture, request, 1)
    assert _alerts_to("tess@example.com") == []
    assert len(_alerts_to("mona@example.com")) == 1
    client.post("/alerts/", {"alerts": "on"})
    assert not alerts.alerts_off(teammate.user)


def test_N3_the_unsubscribe_link_asks_on_get_and_turns_off_on_post(client, teammate):
    url = f"/alerts/unsubscribe/{unsubscribe_token(teammate.user.pk)}/"
    response = client.get(url)
    assert response.status_code == 200 and "Stop rating alerts?" in response.content.decode()
    assert not alerts.alerts_off(teammate.user)  # a GET never writes (mail scanners)
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "turned off" in response.content.decode()
    assert alerts.alerts_off(teammate.user)


def test_N3_an_altered_unsubscribe_link_changes_nothing(client, teammate):
    token = unsubscribe_token(teammate.user.pk)
    response = client.post(f"/alerts/unsubscribe/{token[:-2]}xx/")
    assert response.status_code == 404
    assert not alerts.alerts_off(teammate.user)


# --- N4 -----------------------------------------------------------------------------------------


def test_N4_managers_off_only_the_teammate_is_alerted(capture, teammate, boss):
    rating_settings_update(by=None, manager_alerts=ManagerAlerts.OFF)
    request = _request(capture, teammate)
    _clear()
    _submit(capture, request, 1)
    assert [m.to for m in mail.outbox] == [["tess@example.com"]]


def test_N4_an_unknown_manager_alerts_setting_is_refused(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        rating_settings_update(by=None, manager_alerts="hourly")
    assert "manager_alerts" in refused.value.message_dict


def test_N4_the_daily_digest_lists_the_days_low_ratings_once_even_run_twice(
    capture, teammate, boss
):
    rating_settings_update(by=None, manager_alerts=ManagerAlerts.DAILY)
    first = _request(capture, teammate)
    second = _request(capture, teammate, contact=ContactFactory(name="Bo Berg"))
    third = _request(capture, teammate, contact=ContactFactory(name="Cy Good"))
    _clear()
    _submit(capture, first, 1)
    _submit(capture, second, 2, at=DAY + timedelta(hours=1))
    _submit(capture, third, 5, at=DAY + timedelta(hours=2))
    assert _alerts_to("mona@example.com") == []  # the digest, not one by one
    assert len(_alerts_to("tess@example.com")) == 2  # the teammate still hears at once
    next_morning = DAY + timedelta(hours=19)
    with time_machine.travel(next_morning, tick=False):
        rating_alert_digests_send()
        rating_alert_digests_send()  # the schedule running twice
    (digest,) = _alerts_to("mona@example.com")
    assert digest.subject == "2 terrible or bad ratings on 10 Mar 2025"
    assert "Ann Lee" in digest.body and "Bo Berg" in digest.body
    assert "Cy Good" not in digest.body
    assert AlertDigest.objects.count() == 1


def test_N4_no_digest_for_a_day_without_low_ratings(capture, teammate, boss):
    rating_settings_update(by=None, manager_alerts=ManagerAlerts.DAILY)
    with time_machine.travel(DAY, tick=False):
        assert rating_alert_digests_send() == "nothing to send"
    assert mail.outbox == []


# --- N5 -----------------------------------------------------------------------------------------


def test_N5_a_rolled_back_answer_leaves_no_alert(capture, teammate, boss):
    request = _request(capture, teammate)
    _clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        with time_machine.travel(DAY, tick=False):
            rating_submit(token=token_for(request), value=1)
        raise RuntimeError("the answer's transaction fails after the rating")
    assert RatingAlert.objects.count() == 0
    assert mail.outbox == []


def test_N5_the_task_run_again_sends_nothing_twice(capture, teammate, boss):
    request = _request(capture, teammate)
    _clear()
    _submit(capture, request, 1)
    assert len(mail.outbox) == 2
    rating_alerts_send(request_id=request.pk)
    with time_machine.travel(DAY + timedelta(hours=1), tick=False):
        rating_alerts_sweep()
    assert len(mail.outbox) == 2
    assert AlertDelivery.objects.filter(delivered_at__isnull=False).count() == 2


def test_N5_a_mail_scanners_discarded_rating_alerts_no_one(capture, teammate, boss):
    """A10: the scanner's auto posts; the first (terrible) is discarded by the second."""
    request = _request(capture, teammate)
    _clear()
    _submit(capture, request, 1, auto=True)
    _submit(capture, request, 5, auto=True, at=DAY + timedelta(seconds=2))
    with time_machine.travel(DAY + timedelta(minutes=5), tick=False):
        rating_alerts_sweep()
    alert = RatingAlert.objects.get()
    assert alert.cancelled_at is not None and "A10" in alert.cancel_reason
    assert mail.outbox == []


def test_N5_a_change_to_3_5_before_the_alert_went_out_cancels_it(capture, teammate, boss):
    request = _request(capture, teammate)
    _submit(capture, request, 2, auto=True)
    _submit(capture, request, 4, at=DAY + timedelta(seconds=70))  # a person's press
    with time_machine.travel(DAY + timedelta(minutes=5), tick=False):
        rating_alerts_sweep()
    assert "Changed to Great" in RatingAlert.objects.get().cancel_reason
    assert _alerts_to("tess@example.com") == []


def test_N5_an_auto_posts_alert_waits_out_the_scanner_window(capture, teammate, boss):
    request = _request(capture, teammate)
    _clear()
    _submit(capture, request, 1, auto=True)
    assert mail.outbox == []
    with time_machine.travel(DAY + timedelta(seconds=30), tick=False):
        rating_alerts_sweep()
    assert mail.outbox == []
    with time_machine.travel(DAY + timedelta(seconds=61), tick=False):
        rating_alerts_sweep()
    assert len(mail.outbox) == 2


def test_N5_a_refused_delivery_is_retried_and_sent_once(capture, teammate, boss, smtp):
    request = _request(capture, teammate)
    smtp.handler.refuse_at = "DATA"
    with pytest.raises(DeliveryFailed):  # the queue's task fails: the queue records it
        _submit(capture, request, 1)
    failed = AlertDelivery.objects.filter(delivered_at__isnull=True)
    assert failed.count() == 2 and "451" in failed.first().last_error
    smtp.handler.refuse_at = None
    with time_machine.travel(DAY + timedelta(seconds=30), tick=False):
        rating_alerts_sweep()  # not yet: the pause after a refusal (N5, back-off)
    assert smtp.messages == []
    with time_machine.travel(DAY + timedelta(minutes=5), tick=False):
        rating_alerts_sweep()
        rating_alerts_sweep()
    recipients = sorted(to for tos, _message in smtp.messages for to in tos)
    assert recipients == ["mona@example.com", "tess@example.com"]
    assert AlertDelivery.objects.filter(delivered_at__isnull=True).count() == 0


def test_N5_a_low_rating_costs_the_answer_one_insert(capture, teammate, boss):
    """The hot path: a terrible rating costs the queries of a great one plus the outbox
    INSERT; the recipients are found after the commit, by the task."""
    great, terrible = _request(capture, teammate), _request(capture, teammate)
    settings_copy_warm()  # the settings' first read in this process is not the click's

    def count(request, value):
        with time_machine.travel(DAY, tick=False), CaptureQueriesContext(connection) as seen:
            rating_submit(token=token_for(request), value=value)
        return [q["sql"] for q in seen.captured_queries]

    base, low = count(great, 5), count(terrible, 1)
    assert len(low) == len(base) + 1
    inserts = [sql for sql in low if sql.startswith("INSERT") and '"ratings_ratingalert"' in sql]
    assert len(inserts) == 1


# --- the demo -------------------------------------------------------------------------------------


def test_N5_the_demo_alerts_its_newest_terrible_rating_only(capture):
    """`make run`: the history the demo plays alerts no one; its newest terrible rating's
    alert is queued, and the worker mails it (to the admin's Sent mail in development)."""
    from io import StringIO

    from django.core.management import call_command

    from ratings.models import Rating

    with capture(execute=True):
        call_command("seed_demo", conversations=40, seed=7, stdout=StringIO(), stderr=StringIO())
    newest = Rating.objects.filter(value=1).order_by("-rated_at", "-id").first()
    assert list(RatingAlert.objects.values_list("rating_id", flat=True)) == [newest.pk]
    subjects = {message.subject for message in mail.outbox}
    contact = newest.request.contact  # a contact may have an address and no name
    who = contact.name or contact.email
    assert subjects == {f"Terrible rating from {who} on #{newest.conversation_id}"}
    assert newest.teammate.email in {to for message in mail.outbox for to in message.to}
    assert "mia.manager@example.com" in {to for message in mail.outbox for to in message.to}


def test_N5_the_admin_shows_each_alert_its_cancel_and_its_emails(client, capture, teammate, boss):
    from tests.factories import TeammateFactory

    sent, cancelled = _request(capture, teammate), _request(capture, teammate)
    _submit(capture, sent, 1)
    _submit(capture, cancelled, 2, auto=True)
    _submit(capture, cancelled, 5, at=DAY + timedelta(seconds=70))
    with time_machine.travel(DAY + timedelta(minutes=5), tick=False):
        rating_alerts_sweep()
    admin = TeammateFactory(name="Ada Admin", email="ada@example.com")
    admin.user.is_superuser = True
    admin.user.save(update_fields=["is_superuser"])
    client.force_login(admin.user)
    page = client.get("/admin/ratings/ratingalert/").content.decode()
    assert "Cancelled: Changed to Amazing before the alert went out (N1)." in page
    assert "2 of 2" in page  # the teammate and the manager, each emailed
    alert = RatingAlert.objects.get(request=sent)
    detail = client.get(f"/admin/ratings/ratingalert/{alert.pk}/change/").content.decode()
    assert "The teammate rated" in detail and "Manager" in detail


def test_N4_the_digest_schedule_is_daily_at_seven_and_never_doubled(db):
    from django_q.models import Schedule

    from ratings.apps import DIGEST_SCHEDULE_NAME, ensure_digest_schedule

    Schedule.objects.filter(name=DIGEST_SCHEDULE_NAME).delete()
    with time_machine.travel(DAY, tick=False):  # 12:00 UTC: the next run is tomorrow's 07:00
        ensure_digest_schedule(sender=None)
        ensure_digest_schedule(sender=None)  # every migrate
    (schedule,) = Schedule.objects.filter(name=DIGEST_SCHEDULE_NAME)
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.func == "ratings.alerts.rating_alert_digests_send"
    assert schedule.next_run == DAY.replace(hour=7) + timedelta(days=1)
