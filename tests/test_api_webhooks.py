"""Webhooks: registered by admins (API and admin), each accepted rating, change and comment
POSTed as JSON signed with HMAC-SHA256, from an outbox written in the answer's transaction,
by the task queue with retries and exponential backoff (at least once, one event id across
tries); deliveries and their outcomes visible in the admin, read-only."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.contrib.auth.models import Group
from django_q.models import Schedule

from api import webhooks
from api.apps import WEBHOOK_SCHEDULE_NAME, ensure_webhook_schedule
from api.models import Webhook, WebhookDelivery
from ratings.services import RatingRefused, rating_comment, rating_submit
from tests.factories import TeammateFactory
from tests.report_helpers import requested, token_for

SECRET = "a-shared-secret-of-some-length"
T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


class Receiver:
    """A real HTTP server on 127.0.0.1 (a random port) that records each POST and answers
    with the next status of `statuses` (200 once they run out)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/csat"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver():
    server = Receiver(statuses=[500])
    yield server
    server.close()


def _verify(headers, body: bytes) -> bool:
    """What a receiver does: HMAC-SHA256 of "<timestamp>.<body>" with the shared secret."""
    timestamp = headers["X-CSAT-Timestamp"]
    expected = hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["X-CSAT-Signature"], f"sha256={expected}")


@pytest.fixture
def rating_token(capture, teammate):
    """An eligible conversation closed at T0 - 1 minute with its survey sent: the token."""
    return token_for(requested(capture, teammate, at=T0 - timedelta(minutes=1)))


def test_a_rating_is_delivered_signed_and_redelivered_after_a_500(
    receiver, rating_token, capture, allow_private
):
    webhook = Webhook.objects.create(url=receiver.url, secret=SECRET)
    with time_machine.travel(T0, tick=False), capture(execute=True):
        rating = rating_submit(token=rating_token, value=5)
    # The first try went out on commit, through the queue; the receiver answered 500.
    (delivery,) = WebhookDelivery.objects.filter(webhook=webhook)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == T0 + timedelta(minutes=1)
    assert delivery.last_error == "The receiver answered 500."
    assert len(receiver.received) == 1

    # Not yet: the pause after the first failure is a minute.
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert webhooks.webhook_deliveries_sweep() == 0
    # Past the backoff, the sweep (the schedule's task) sends it again.
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        assert webhooks.webhook_deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "delivered",
        2,
        200,
    )
    assert delivery.delivered_at == T0 + timedelta(minutes=2)
    assert delivery.next_attempt_at is None and delivery.last_error == ""

    (first_headers, first_body), (headers, body) = receiver.received
    assert first_body == body  # the same event, byte for byte
    assert first_headers["X-CSAT-Event-Id"] == headers["X-CSAT-Event-Id"] == str(delivery.event_id)
    assert _verify(first_headers, first_body) and _verify(headers, body)
    assert int(headers["X-CSAT-Timestamp"]) == int((T0 + timedelta(minutes=2)).timestamp())
    assert headers["Content-Type"] == "application/json"
    assert headers["X-CSAT-Event-Type"] == "rating.rated"
    payload = json.loads(body)
    assert payload["id"] == str(delivery.event_id) and payload["type"] == "rating.rated"
    assert payload["data"]["rating_id"] == rating.pk
    assert payload["data"]["conversation_id"] == rating.conversation_id
    assert (payload["data"]["value"], payload["data"]["reaction"]) == (5, "amazing")
    assert payload["data"]["kind"] == "teammate"  # B: the bot's ratings say "bot"

    # Delivered: nothing more is sent, however often the sweep or the task runs.
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert webhooks.webhook_deliveries_sweep() == 0
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk).startswith("not due")
    assert len(receiver.received) == 2


def test_a_forged_signature_does_not_verify(receiver, rating_token, capture, allow_private):
    receiver.statuses = []
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    with capture(execute=True):
        rating_submit(token=rating_token, value=4)
    ((headers, body),) = receiver.received
    assert _verify(headers, body)
    assert not _verify(headers, body.replace(b'"value":4', b'"value":5'))
    assert webhooks.signature_valid(
        secret=SECRET,
        timestamp=headers["X-CSAT-Timestamp"],
        body=body,
        signature=headers["X-CSAT-Signature"],
    )


def test_each_rating_change_and_comment_is_an_event_for_each_active_webhook(rating_token, capture):
    one = Webhook.objects.create(url="http://127.0.0.1:9/one", secret=SECRET)
    two = Webhook.objects.create(url="http://127.0.0.1:9/two", secret=SECRET)
    Webhook.objects.create(url="http://127.0.0.1:9/off", secret=SECRET, active=False)
    with capture() as callbacks:
        rating_submit(token=rating_token, value=2)
        rating_submit(token=rating_token, value=1)
        rating_submit(token=rating_token, value=1)  # the same reaction again: no event
        rating_comment(token=rating_token, comment="Slow", reasons=["Slow to answer"])
    deliveries = WebhookDelivery.objects.order_by("id")
    assert [(d.webhook_id, d.event_type) for d in deliveries] == [
        (one.pk, "rating.rated"),
        (two.pk, "rating.rated"),
        (one.pk, "rating.changed"),
        (two.pk, "rating.changed"),
        (one.pk, "rating.commented"),
        (two.pk, "rating.commented"),
    ]
    # One id per event, the same for every webhook; each send is queued on commit.
    assert len({d.event_id for d in deliveries}) == 3
    # (The rating alerts of N1/N2 queue their own tasks on commit too.)
    sends = [c for c in callbacks if getattr(c, "func", None) is webhooks.webhook_delivery_enqueue]
    assert len(sends) == 6
    commented = deliveries.last().payload
    assert commented["data"]["comment"] == "Slow"
    assert commented["data"]["reasons"] == ["Slow to answer"]


def test_a_refused_answer_writes_no_delivery(rating_token, capture):
    Webhook.objects.create(url="http://127.0.0.1:9/hook", secret=SECRET)
    rating_submit(token=rating_token, value=5)
    rating_comment(token=rating_token, comment="Great")
    before = WebhookDelivery.objects.count()
    with pytest.raises(RatingRefused):
        rating_submit(token=rating_token, value=1)
    assert WebhookDelivery.objects.count() == before == 2


def test_backoff_grows_and_gives_up_after_max_attempts(rating_token, capture, allow_private):
    """A receiver that never answers (connection refused): 1, 2, 4 … minutes between tries,
    at most an hour, then the delivery is marked failed."""
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there any more
    Webhook.objects.create(url=url, secret=SECRET)
    now = T0
    with time_machine.travel(now, tick=False), capture(execute=True):
        rating_submit(token=rating_token, value=3)
    delivery = WebhookDelivery.objects.get()
    pauses = []
    while delivery.status == "pending":
        pause = delivery.next_attempt_at - now
        pauses.append(pause)
        now = delivery.next_attempt_at
        with time_machine.travel(now, tick=False):
            assert webhooks.webhook_deliveries_sweep() == 1
        delivery.refresh_from_db()
    minutes = [int(p.total_seconds() // 60) for p in pauses]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60, 60, 60]
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert delivery.next_attempt_at is None and delivery.last_status_code is None
    assert delivery.last_error.startswith("ConnectionRefusedError")  # not K5's refusal


def test_a_first_try_lost_with_its_task_is_sent_by_the_sweep(receiver, rating_token, allow_private):
    """The commit happened but the queued send never ran (a dead worker): a minute later the
    sweep queues it."""
    receiver.statuses = []
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    with time_machine.travel(T0, tick=False):
        rating_submit(token=rating_token, value=5)  # no commit in this test: no task
        assert webhooks.webhook_deliveries_sweep() == 0  # its own task is on the way
    with time_machine.travel(T0 + webhooks.FIRST_TRY_GRACE, tick=False):
        assert webhooks.webhook_deliveries_sweep() == 1
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_delivery_held_by_another_sender_is_not_sent_twice(
    receiver, rating_token, capture, allow_private
):
    """The lease: while one sender holds a delivery, a second run of the task (or the sweep)
    leaves it alone; when the sender died, the lease runs out and it is sent."""
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    with time_machine.travel(T0, tick=False):
        rating_submit(token=rating_token, value=5)  # committed later: nothing sent yet
        delivery = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=T0 + webhooks.LEASE)
        assert webhooks.webhook_deliveries_sweep() == 0
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk).startswith("not due")
    assert receiver.received == []
    with time_machine.travel(T0 + webhooks.LEASE + timedelta(seconds=1), tick=False):
        assert webhooks.webhook_deliveries_sweep() == 1
    assert len(receiver.received) == 1


def test_the_sweep_schedule_exists_once_and_runs_every_minute(db):
    ensure_webhook_schedule(sender=None)
    ensure_webhook_schedule(sender=None)
    (schedule,) = Schedule.objects.filter(name=WEBHOOK_SCHEDULE_NAME)
    assert schedule.func == "api.webhooks.webhook_deliveries_sweep"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 1)


# --- registering through the API ------------------------------------------------------------------


@pytest.fixture
def as_admin(api_login, api_admin):
    return api_login(api_admin.user)


def test_admins_register_change_and_remove_webhooks(as_admin, public_dns):
    response = as_admin.post(
        "/api/v1/webhooks/",
        {"url": "https://crm.example.com/csat", "secret": SECRET, "description": "CRM"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert "secret" not in data and data["active"] is True
    webhook = Webhook.objects.get(pk=data["id"])
    assert webhook.secret == SECRET
    assert [w["id"] for w in as_admin.get("/api/v1/webhooks/").json()["results"]] == [webhook.pk]
    response = as_admin.patch(f"/api/v1/webhooks/{webhook.pk}/", {"active": False}, format="json")
    assert response.status_code == 200 and response.json()["active"] is False
    assert as_admin.put(f"/api/v1/webhooks/{webhook.pk}/", {}, format="json").status_code == 405
    assert as_admin.delete(f"/api/v1/webhooks/{webhook.pk}/").status_code == 204
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://example.com/x", "secret": SECRET}, "url"),
        ({"url": "not a url", "secret": SECRET}, "url"),
        ({"url": "https://example.com/x", "secret": "short"}, "secret"),
        ({"url": "https://example.com/x"}, "secret"),
        ({"url": "https://example.com/x", "secret": SECRET, "active": "yes"}, "active"),
        ({"url": "https://example.com/x", "secret": SECRET, "id": 5}, "id"),
    ],
)
def test_invalid_webhooks_are_refused_by_name(as_admin, public_dns, body, field):
    response = as_admin.post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_webhooks_are_for_admins(api_client, api_login, teammate, manager):
    webhook = Webhook.objects.create(url="https://example.com/x", secret=SECRET)
    urls = ["/api/v1/webhooks/", f"/api/v1/webhooks/{webhook.pk}/"]
    urls.append(f"/api/v1/webhooks/{webhook.pk}/deliveries/")
    for url in urls:
        assert api_client.get(url).status_code == 401
        for user in (teammate.user, manager.user):
            assert api_login(user).get(url).status_code == 403
    assert api_login(teammate.user).delete(urls[1]).status_code == 403
    admin = TeammateFactory()
    admin.user.groups.add(Group.objects.get(name="Admins"))
    for url in urls:
        assert api_login(admin.user).get(url).status_code == 200


def test_deliveries_and_their_outcomes_through_the_api(
    as_admin, receiver, rating_token, capture, allow_private
):
    webhook = Webhook.objects.create(url=receiver.url, secret=SECRET)
    with capture(execute=True):
        rating_submit(token=rating_token, value=5)
    (row,) = as_admin.get(f"/api/v1/webhooks/{webhook.pk}/deliveries/").json()["results"]
    assert (row["event_type"], row["status"], row["attempts"], row["last_status_code"]) == (
        "rating.rated",
        "pending",
        1,
        500,
    )
    assert row["next_attempt_at"] is not None
    assert as_admin.get("/api/v1/webhooks/9999/deliveries/").status_code == 404


# --- the admin ------------------------------------------------------------------------------------


def test_admin_registers_webhooks_and_sees_deliveries_read_only(
    client, receiver, rating_token, capture, allow_private
):
    admin = TeammateFactory()
    admin.user.groups.add(Group.objects.get(name="Admins"))
    client.force_login(admin.user)
    response = client.post(
        "/admin/api/webhook/add/",
        {"url": receiver.url, "secret": SECRET, "description": "Receiver", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with capture(execute=True):
        rating_submit(token=rating_token, value=5)
    delivery = WebhookDelivery.objects.get()
    page = client.get("/admin/api/webhookdelivery/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "rating.rated" in html and "The receiver answered 500." in html
    detail = client.get(f"/admin/api/webhookdelivery/{delivery.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()  # read-only
    assert client.get("/admin/api/webhookdelivery/add/").status_code == 403
    assert client.post(f"/admin/api/webhookdelivery/{delivery.pk}/delete/").status_code == 403
    # Teammates do not see webhooks at all.
    client.force_login(TeammateFactory().user)
    assert client.get("/admin/api/webhookdelivery/").status_code == 403
    assert client.get("/admin/api/webhook/").status_code == 403
