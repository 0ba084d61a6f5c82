"""Alerts (N): a terrible or bad rating, and a comment on one, emailed to the teammate it
belongs to and to the managers, each exactly once.

- N1 A rating of 1 or 2 accepted (a first rating, or a change into 1–2) writes one
  `RatingAlert` (kind *rated*) in the answer's transaction; 3–5 writes none. At most one per
  rating and kind (a unique constraint): a change 1 → 2 or 2 → 5 → 1 makes no second alert.
- N2 A comment (or reasons) on a terrible or bad rating writes a second alert, kind
  *commented*, once (A3: there is one comment). When the rating's own alert went out after the
  comment was made, it carried the comment already, and the comment's alert is cancelled.
- N3 Each staff user may turn alerts off (`AlertPreference`), on their own page
  (`/alerts/`) or with the signed unsubscribe link of an alert (a POST, never a GET).
- N4 Managers (whoever may read the reports: the reports layer registers who that is with
  `managers_register`) get each alert at once, a daily digest of the previous local day's
  alerts (one per manager and day, whatever runs twice), or nothing (`manager_alerts`).
- N5 The alert row is written in the answer's transaction (a refused or rolled-back answer
  leaves none) and costs the answer one INSERT; after the commit its task finds the
  recipients and writes one `AlertDelivery` each, delivered through
  `conversations.outbox.deliver_once` (row lock, `delivered_at`, retries with back-off, the
  sweep). An auto post (the rating page's own, A10) waits out the scanner window before it
  alerts anyone; a rating discarded as a mail scanner's (A10), or changed to 3–5 before its
  alert went out, cancels the alert. A rating with no teammate (none replied, a bot's) alerts
  the managers only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from redis.exceptions import RedisError

from conversations import clock
from conversations.outbox import (
    DeliveryFailed,
    deliver_once,
    due_for_retry,
    outbox_enqueue,
    with_reconnects,
)
from mail.addresses import sender
from mail.threading import message_domain
from ratings.figures import local_day
from ratings.models import (
    AlertDelivery,
    AlertDigest,
    AlertPreference,
    ManagerAlerts,
    Rating,
    RatingAlert,
    RatingEvent,
    RatingSettings,
)
from ratings.rules import SCANNER_WINDOW
from ratings.scale import LOW_VALUES, reaction

logger = logging.getLogger(__name__)

SEND_TASK = "ratings.alerts.rating_alerts_send"
DIGEST_TASK = "ratings.alerts.rating_alert_digests_send"
UNSUBSCRIBE_SALT = "ratings.alerts.unsubscribe"
DISCARDED_REASON = "The rating was discarded as a mail scanner's (A10)."
INCLUDED_REASON = "The rating's alert went out with the comment in it (N2)."

# --- who the managers are (N4): the reports layer says, ratings cannot ask it --------------------

_managers_finder: Callable[[], QuerySet] | None = None


def managers_register(finder: Callable[[], QuerySet]) -> None:
    """The reports app registers the users who may read the reports (a queryset of users)."""
    global _managers_finder
    _managers_finder = finder


def managers() -> QuerySet:
    User = get_user_model()
    return _managers_finder() if _managers_finder is not None else User.objects.none()


def _reachable(users: QuerySet) -> QuerySet:
    """Active users with an address who have not turned alerts off (N3)."""
    return (
        users.filter(is_active=True)
        .exclude(email="")
        .exclude(alert_preference__alerts_off=True)
        .order_by("pk")
    )


# --- N3: the opt-out -----------------------------------------------------------------------------


def alerts_off(user) -> bool:
    return AlertPreference.objects.filter(user=user, alerts_off=True).exists()


@transaction.atomic
def alert_preference_set(*, user, off: bool) -> AlertPreference:
    """N3: `user` turns rating alerts off (or on again)."""
    preference, _ = AlertPreference.objects.select_for_update().get_or_create(user=user)
    preference.alerts_off = bool(off)
    preference.changed_at = clock.now()
    preference.save(update_fields=["alerts_off", "changed_at"])
    return preference


def unsubscribe_token(user_id: int) -> str:
    return signing.dumps(user_id, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_user(token: str):
    """The user an unsubscribe link names; None for an altered or foreign token."""
    try:
        user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(user_id, int):
        return None
    return get_user_model().objects.filter(pk=user_id).first()


# --- N1, N2, N5: the outbox row, in the answer's transaction -------------------------------------


def on_rating_event_recorded(sender, event: RatingEvent, rating: Rating, **kwargs) -> None:
    """Receiver of `rating_event_recorded` (inside the answer's transaction)."""
    if event.kind == RatingEvent.Kind.DISCARDED:
        # N5/A10: a scanner's rating alerts no one (if its alert has not gone out yet).
        RatingAlert.objects.filter(
            rating=rating, fanned_out_at__isnull=True, cancelled_at__isnull=True
        ).update(cancelled_at=event.at, cancel_reason=DISCARDED_REASON)
        return
    if event.value not in LOW_VALUES:
        return
    commented = event.kind == RatingEvent.Kind.COMMENTED
    kind = RatingAlert.Kind.COMMENTED if commented else RatingAlert.Kind.RATED
    # An auto post (A10) may be a mail scanner's: its alert waits out the scanner window.
    due_at = event.at + SCANNER_WINDOW if rating.auto_at is not None else event.at
    if event.kind == RatingEvent.Kind.CHANGED:
        # Back into 1–2 after its alert was cancelled by a change to 3–5: the same alert again.
        revived = RatingAlert.objects.filter(
            rating=rating, kind=kind, fanned_out_at__isnull=True, cancelled_at__isnull=False
        ).update(cancelled_at=None, cancel_reason="", due_at=due_at, value=event.value)
        if revived:
            _enqueue_on_commit(rating.request_id, due_at, event.at)
            return
    rating_alert_record(rating=rating, kind=kind, at=event.at, due_at=due_at, value=event.value)


def rating_alert_record(
    *, rating: Rating, kind: str, at: datetime, due_at: datetime | None = None, value=None
) -> None:
    """Write the alert (one INSERT; nothing when the rating has this kind already) and queue
    its task once the transaction commits."""
    due_at = due_at or at
    RatingAlert.objects.bulk_create(
        [
            RatingAlert(
                request_id=rating.request_id,
                rating=rating,
                kind=kind,
                value=value or rating.value,
                created_at=at,
                due_at=due_at,
            )
        ],
        ignore_conflicts=True,
    )
    _enqueue_on_commit(rating.request_id, due_at, at)


def _enqueue_on_commit(request_id: int, due_at: datetime, at: datetime) -> None:
    if due_at <= at:  # a delayed alert is the sweep's, once due
        transaction.on_commit(partial(rating_alerts_enqueue, request_id=request_id))


def rating_alerts_enqueue(*, request_id: int) -> None:
    try:
        outbox_enqueue(SEND_TASK, request_id=request_id, task_name=f"alert-{request_id}")
    except RedisError:
        logger.warning("Alerts of request %s not queued (broker down); the sweep will.", request_id)


# --- the task: recipients, then one delivery each ------------------------------------------------


def rating_alerts_send(*, request_id: int) -> str:
    """The queued task (N5): fan out the request's due alerts to their recipients, then deliver
    every delivery not delivered yet. Safe to run any number of times."""
    return with_reconnects(lambda: _send_all(request_id))


def _send_all(request_id: int) -> str:
    delivery_ids = _fan_out(request_id)
    sent, failures = [], []
    for delivery_id in delivery_ids:
        try:
            sent.append(deliver_once(DELIVERIES, delivery_id, _send_alert))
        except DeliveryFailed as failure:
            failures.append(str(failure))
    if failures:
        raise DeliveryFailed("; ".join(failures))
    return "; ".join(sent) or "nothing to send"


@transaction.atomic
def _fan_out(request_id: int) -> list[int]:
    """Under each due alert's row lock: cancel it (N1, N2, N5) or write its deliveries (one per
    recipient, a unique constraint); the request's undelivered deliveries."""
    now = clock.now()
    alerts = list(
        RatingAlert.objects.select_for_update(of=("self",))
        .select_related("rating", "request")
        .filter(request_id=request_id, fanned_out_at__isnull=True, cancelled_at__isnull=True)
        .filter(due_at__lte=now)
        # "rated" first: a comment's alert (N2) asks whether the rating's went out with it.
        .order_by("-kind")
    )
    settings = RatingSettings.load()
    for alert in alerts:
        if alert.kind == RatingAlert.Kind.COMMENTED and _rating_alert_pending(alert):
            continue  # N2: the comment waits for the rating's alert, which may carry it
        reason = _cancel_reason(alert)
        if reason:
            alert.cancelled_at, alert.cancel_reason = now, reason
            alert.save(update_fields=["cancelled_at", "cancel_reason"])
            continue
        AlertDelivery.objects.bulk_create(
            [
                AlertDelivery(alert=alert, user_id=user_id, role=role, created_at=now)
                for user_id, role in _recipients(alert, settings)
            ],
            ignore_conflicts=True,
        )
        alert.fanned_out_at = now
        alert.save(update_fields=["fanned_out_at"])
    return list(
        AlertDelivery.objects.filter(alert__request_id=request_id, delivered_at__isnull=True)
        .order_by("pk")  # the teammate first
        .values_list("pk", flat=True)
    )


def _rating_alert_pending(alert: RatingAlert) -> bool:
    return RatingAlert.objects.filter(
        rating_id=alert.rating_id,
        kind=RatingAlert.Kind.RATED,
        fanned_out_at__isnull=True,
        cancelled_at__isnull=True,
    ).exists()


def _cancel_reason(alert: RatingAlert) -> str:
    rating = alert.rating
    if rating is None:
        return DISCARDED_REASON
    if rating.value not in LOW_VALUES:
        return f"Changed to {reaction(rating.value).label} before the alert went out (N1)."
    if alert.kind == RatingAlert.Kind.COMMENTED:
        # N2: the rating's alert, sent after the comment was made, showed the comment.
        included = RatingAlert.objects.filter(
            rating=rating,
            kind=RatingAlert.Kind.RATED,
            fanned_out_at__gte=rating.commented_at,
        ).exists()
        if included:
            return INCLUDED_REASON
    return ""


def _recipients(alert: RatingAlert, settings: RatingSettings) -> list[tuple[int, str]]:
    """N1, N3, N4: the teammate rated (none for a rating without one), then the managers when
    they hear of each alert at once; anyone who turned alerts off, no one twice."""
    User = get_user_model()
    recipients: list[tuple[int, str]] = []
    teammate_id = alert.request.teammate_id
    if teammate_id is not None:
        users = _reachable(User.objects.filter(teammate__pk=teammate_id))
        recipients += [
            (pk, AlertDelivery.Role.TEAMMATE) for pk in users.values_list("pk", flat=True)
        ]
    if settings.manager_alerts == ManagerAlerts.IMMEDIATELY:
        taken = {pk for pk, _role in recipients}
        for pk in _reachable(managers()).values_list("pk", flat=True).distinct():
            if pk not in taken:
                recipients.append((pk, AlertDelivery.Role.MANAGER))
    return recipients


DELIVERIES = AlertDelivery.objects.select_related(
    "user", "alert__rating__teammate", "alert__request__contact", "alert__request__conversation"
)


def _send_alert(delivery: AlertDelivery, connection) -> str:
    """Send one alert's email (the hand-over the last step). A rating discarded since the
    fan-out sends nothing: the delivery says why."""
    rating = delivery.alert.rating
    if rating is None:
        AlertDelivery.objects.filter(pk=delivery.pk).update(skipped=DISCARDED_REASON)
        return f"skipped: {DISCARDED_REASON}"
    if not delivery.user.email or alerts_off(delivery.user):
        AlertDelivery.objects.filter(pk=delivery.pk).update(skipped="Alerts turned off (N3).")
        return "skipped: alerts turned off"
    message = alert_email(delivery)
    connection.open()
    message.connection = connection
    message.send()
    return f"alert emailed to {delivery.user.email}"


# --- the emails ----------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return django_settings.SITE_URL + path


def conversation_url(conversation_id: int) -> str:
    return _absolute(reverse("admin:conversations_conversation_change", args=[conversation_id]))


def follow_up_url(rating: Rating) -> str:
    """R3's comments narrowed to this rating's day, teammate and reaction, at the rating."""
    day = local_day(rating.rated_at).isoformat()
    query = [("from", day), ("to", day), ("reaction", rating.value)]
    if rating.teammate_id:
        query.insert(2, ("teammate", rating.teammate_id))
    return _absolute(f"{reverse('reports:comments')}?{urlencode(query)}#rating-{rating.pk}")


def unsubscribe_url(user_id: int) -> str:
    return _absolute(reverse("ratings:alert_unsubscribe", args=[unsubscribe_token(user_id)]))


def _who(rating: Rating) -> str:
    contact = rating.request.contact
    return contact.name or contact.email or "a customer"


def rating_facts(rating: Rating) -> dict:
    """What an alert or a digest says about one rating."""
    return {
        "rating": rating,
        "reaction": reaction(rating.value),
        "customer": _who(rating),
        "teammate": rating.teammate,
        "conversation": rating.request.conversation,
        "subject": " ".join(rating.request.conversation.subject.split()),
        "conversation_url": conversation_url(rating.conversation_id),
        "follow_up_url": follow_up_url(rating),
    }


def alert_subject(kind: str, rating: Rating) -> str:
    label = reaction(rating.value).label
    about = f"from {_who(rating)} on #{rating.conversation_id}"
    if kind == RatingAlert.Kind.COMMENTED:
        return " ".join(f"Comment on a {label.lower()} rating {about}".split())
    return " ".join(f"{label} rating {about}".split())


def _headers(message_id: str, user_id: int) -> dict:
    unsubscribe = unsubscribe_url(user_id)
    return {
        "Message-ID": message_id,
        "Auto-Submitted": "auto-generated",
        # RFC 8058: a mail client's one-click unsubscribe POSTs to the link.
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _message(*, subject, template, context, to, headers) -> EmailMultiAlternatives:
    # Staff emails are in the installation's own language.
    with translation.override(django_settings.LANGUAGE_CODE):
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string(f"ratings/email/{template}.txt", context),
            from_email=sender(),
            to=to,
            headers=headers,
        )
        message.attach_alternative(
            render_to_string(f"ratings/email/{template}.html", context), "text/html"
        )
    return message


def alert_email(delivery: AlertDelivery) -> EmailMultiAlternatives:
    alert, user = delivery.alert, delivery.user
    rating = alert.rating
    context = {
        **rating_facts(rating),
        "kind": alert.kind,
        "commented": alert.kind == RatingAlert.Kind.COMMENTED,
        "heading": alert_subject(alert.kind, rating),
        "to_teammate": delivery.role == AlertDelivery.Role.TEAMMATE,
        "recipient": user,
        "unsubscribe_url": unsubscribe_url(user.pk),
        "settings_url": _absolute(reverse("ratings:alert_settings")),
    }
    return _message(
        subject=alert_subject(alert.kind, rating),
        template="alert",
        context=context,
        to=[user.email],
        headers=_headers(f"<rating-alert-{delivery.pk}@{message_domain()}>", user.pk),
    )


# --- N4: the daily digest ------------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(django_settings.TIME_ZONE)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _day_alerts(day: date) -> list[int]:
    """The day's rating alerts whose rating still stands at 1–2."""
    start, end = _day_bounds(day)
    return list(
        RatingAlert.objects.filter(
            kind=RatingAlert.Kind.RATED,
            created_at__gte=start,
            created_at__lt=end,
            cancelled_at__isnull=True,
            rating__value__in=LOW_VALUES,
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )


def rating_alert_digests_send(*, now: datetime | None = None, day: date | None = None) -> str:
    """The daily schedule (N4): with digests on, one email per manager listing the previous
    local day's terrible and bad ratings (none when there were none); a second run the same
    day sends nothing new (one `AlertDigest` per manager and day)."""
    now = now or clock.now()
    day = day or local_day(now) - timedelta(days=1)
    if RatingSettings.load().manager_alerts != ManagerAlerts.DAILY:
        return "digests are off"
    alert_ids = _day_alerts(day)
    if alert_ids:
        AlertDigest.objects.bulk_create(
            [
                AlertDigest(user_id=pk, day=day, alert_ids=alert_ids, created_at=now)
                for pk in _reachable(managers()).values_list("pk", flat=True).distinct()
            ],
            ignore_conflicts=True,
        )
    pending = AlertDigest.objects.filter(day=day, delivered_at__isnull=True)
    return _deliver_digests(list(pending.values_list("pk", flat=True))) or "nothing to send"


def _deliver_digests(digest_ids: list[int]) -> str:
    sent, failures = [], []
    for digest_id in digest_ids:
        try:
            sent.append(with_reconnects(partial(deliver_once, DIGESTS, digest_id, _send_digest)))
        except DeliveryFailed as failure:
            failures.append(str(failure))
    if failures:
        raise DeliveryFailed("; ".join(failures))
    return "; ".join(sent)


def rating_alert_digest_deliver(*, digest_id: int) -> str:
    return _deliver_digests([digest_id]) or "nothing to send"


DIGESTS = AlertDigest.objects.select_related("user")


def digest_subject(day: date, count: int) -> str:
    ratings = "1 terrible or bad rating" if count == 1 else f"{count} terrible or bad ratings"
    return f"{ratings} on {day.day} {day:%b %Y}"


def digest_email(digest: AlertDigest) -> EmailMultiAlternatives | None:
    ratings = list(
        Rating.objects.filter(alerts__pk__in=digest.alert_ids, value__in=LOW_VALUES)
        .select_related("teammate", "request__contact", "request__conversation")
        .order_by("rated_at", "id")
        .distinct()
    )
    if not ratings:
        return None
    start, _end = _day_bounds(digest.day)
    context = {
        "day": digest.day,
        "heading": digest_subject(digest.day, len(ratings)),
        "items": [rating_facts(rating) for rating in ratings],
        "recipient": digest.user,
        "comments_url": _absolute(
            f"{reverse('reports:comments')}?"
            + urlencode(
                [("from", digest.day), ("to", digest.day), ("reaction", 1), ("reaction", 2)]
            )
        ),
        "unsubscribe_url": unsubscribe_url(digest.user_id),
        "settings_url": _absolute(reverse("ratings:alert_settings")),
    }
    return _message(
        subject=digest_subject(digest.day, len(ratings)),
        template="alert_digest",
        context=context,
        to=[digest.user.email],
        headers=_headers(f"<rating-digest-{digest.pk}@{message_domain()}>", digest.user_id),
    )


def _send_digest(digest: AlertDigest, connection) -> str:
    if not digest.user.email or alerts_off(digest.user):
        return "skipped: alerts turned off"
    message = digest_email(digest)
    if message is None:
        return "skipped: none of the day's ratings stands at 1–2 any more"
    connection.open()
    message.connection = connection
    message.send()
    return f"digest emailed to {digest.user.email}"


# --- N5: the sweep -------------------------------------------------------------------------------


def rating_alerts_sweep(*, now: datetime | None = None) -> int:
    """Every minute: queue the alerts that are due (an auto post's, once the scanner window is
    over; any whose task was lost) and the deliveries and digests left undelivered, each after
    its growing pause. Returns how many tasks were queued."""
    now = now or clock.now()
    stale = now - timedelta(seconds=django_settings.RATING_SWEEP_GRACE_SECONDS)
    due = RatingAlert.objects.filter(
        fanned_out_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now
    ).filter(Q(due_at__gt=F("created_at")) | Q(created_at__lte=stale))
    request_ids = set(due.values_list("request_id", flat=True))
    request_ids |= set(
        due_for_retry(AlertDelivery.objects.all(), now=now, stale=stale, key="alert__request_id")
    )
    for request_id in sorted(request_ids):
        rating_alerts_enqueue(request_id=request_id)
    digests = due_for_retry(AlertDigest.objects.all(), now=now, stale=stale, key="pk")
    for digest_id in digests:
        outbox_enqueue(
            "ratings.alerts.rating_alert_digest_deliver",
            digest_id=digest_id,
            task_name=f"digest-{digest_id}",
        )
    return len(request_ids) + len(digests)
