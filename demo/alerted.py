"""The demo's rating alerts (N): none for the history the demo plays (each of its terrible and
bad ratings would otherwise be emailed when the worker starts), then the newest terrible
rating's alert, made now, so that `make run`'s worker puts one alert in the admin's *Sent mail*.
"""

from __future__ import annotations

from django.db import transaction

from conversations import clock
from demo.common import ReceiverOff, id_groups
from ratings.alerts import on_rating_event_recorded, rating_alert_record
from ratings.models import Rating, RatingAlert
from ratings.signals import rating_event_recorded

RECEIVER_UID = "ratings.alerts"


def alerts_off() -> ReceiverOff:
    """`with alerts_off():` the answers the demo plays write no alerts."""
    return ReceiverOff(rating_event_recorded, on_rating_event_recorded, RECEIVER_UID)


def alert_newest_terrible(conversation_ids: list[int]) -> RatingAlert | None:
    """The alert of the newest terrible rating among these conversations, queued now."""
    newest = [
        rating
        for group in id_groups(conversation_ids)
        if (
            rating := Rating.objects.filter(group, value=Rating.Value.TERRIBLE)
            .order_by("-rated_at", "-id")
            .first()
        )
    ]
    if not newest:
        return None
    rating = max(newest, key=lambda r: (r.rated_at, r.id))
    with transaction.atomic():
        rating_alert_record(rating=rating, kind=RatingAlert.Kind.RATED, at=clock.now())
    return RatingAlert.objects.filter(rating=rating, kind=RatingAlert.Kind.RATED).first()
