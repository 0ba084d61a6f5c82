"""The site's own pages: the landing page at "/" (each role's way in) and the health check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.models import Max
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_q.models import Task

from conversations.selectors import teammate_of
from ratings.scale import REACTIONS
from reports.access import can_read_reports

# The wake schedule runs every minute, so a live worker leaves a finished task that often.
WORKER_FRESH = timedelta(minutes=5)


@never_cache
def healthz(request):
    """200 when the database answers; says when a task worker last finished a task."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        last_seen = Task.objects.aggregate(last=Max("stopped"))["last"]
    except DatabaseError as error:
        return JsonResponse({"database": "unreachable", "error": str(error)}, status=503)
    fresh = last_seen is not None and timezone.now() - last_seen <= WORKER_FRESH
    return JsonResponse(
        {
            "database": "ok",
            "worker_last_seen": last_seen.isoformat() if last_seen else None,
            "worker": "ok" if fresh else "not seen in the last 5 minutes",
        }
    )


@dataclass(frozen=True)
class Place:
    """A card of the landing page: where to go, in a sentence, and a few links further in."""

    key: str
    title: str
    text: str
    url: str
    action: str
    more: tuple[tuple[str, str], ...] = ()


# A signed-in person's main role names the order of their cards (the first is their place).
ORDERS = {
    "admin": ("settings", "inbox", "reports", "achievements"),
    "manager": ("reports", "inbox", "achievements"),
    "teammate": ("inbox", "achievements"),
}
ROLE_WORDS = {
    "admin": "You set up the surveys and the team, and can open everything.",
    "manager": "You read the team's ratings and follow up on the bad ones.",
    "teammate": "You answer customers; what they think of it shows in your achievements.",
}


def _places(user) -> tuple[str | None, list[Place]]:
    """The main role of `user` (None: nothing to open) and their places, in its order."""
    teammate = teammate_of(user)
    staff = user.is_staff
    places = {}
    if staff and user.has_perm("ratings.change_ratingsettings"):
        more = [("Rating settings", reverse("admin:ratings_ratingsettings_changelist"))]
        if user.has_perm("conversations.change_teammate"):
            more.append(("Teammates", reverse("admin:conversations_teammate_changelist")))
        if user.has_perm("conversations.change_workflow"):
            more.append(("Workflows", reverse("admin:conversations_workflow_changelist")))
        places["settings"] = Place(
            "settings",
            "Settings",
            "When surveys go out, how long customers may rate, the question and the reasons "
            "for a low rating; the teammates and the workflows.",
            reverse("admin:index"),
            "Open the admin",
            tuple(more),
        )
    if staff and user.has_perm("conversations.view_conversation"):
        text = (
            "Reply to, snooze and close conversations with customers."
            if teammate
            else "Every conversation and why it got a survey or not. Replying needs a "
            "teammate profile."
        )
        places["inbox"] = Place(
            "inbox",
            "Inbox",
            text,
            reverse("admin:conversations_conversation_changelist"),
            "Open the inbox",
        )
    if can_read_reports(user):
        places["reports"] = Place(
            "reports",
            "Reports",
            "CSAT for the team and each teammate, the comments to follow up and the "
            "happiness target.",
            reverse("reports:summary"),
            "Open the reports",
            (
                ("Teammates", reverse("reports:teammates")),
                ("Comments", reverse("reports:comments")),
            ),
        )
    if teammate is not None:
        places["achievements"] = Place(
            "achievements",
            "My achievements",
            "The kind words customers left when they rated you great or amazing.",
            reverse("reports:achievements"),
            "See my achievements",
        )
    if "settings" in places:
        role = "admin"
    elif "reports" in places:
        role = "manager"
    elif places:
        role = "teammate"
    else:
        return None, []
    return role, [places[key] for key in ORDERS[role] if key in places]


@require_safe
def home(request):
    """The landing page ("View site" in the admin): anonymous visitors read what csat is and
    find the sign-in; a signed-in person gets their places (a teammate the inbox and their
    achievements, a manager the reports, an admin the settings and the inbox)."""
    role, places = (None, [])
    if request.user.is_authenticated:
        role, places = _places(request.user)
    context = {
        "role": role,
        "role_words": ROLE_WORDS.get(role, ""),
        "places": places,
        "reactions": REACTIONS,
        "home_url": reverse("home"),
    }
    return render(request, "home.html", context)
