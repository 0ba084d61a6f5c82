"""The rating panel of the inbox's conversation page ("why did this customer get no
survey?"), added through the hook the conversations app offers (`conversations.panels`),
so that `conversations` never needs to know about ratings."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join

from conversations.adminkit import admin_url
from conversations.panels import ConversationPanel, conversation_panel_add, list_marks_add
from ratings.models import (
    Kind,
    Rating,
    RatingRequest,
)
from ratings.scale import reaction
from ratings.selectors import rating_panel
from ratings.templatetags.faces import face


def _change_url_if_allowed(user, model, pk, site) -> str:
    opts = model._meta
    if pk is None or not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return ""
    return admin_url(model, "change", pk, site=site)


def rating_panel_context(request, conversation, site) -> dict:
    """The latest close's decision (sent, or skipped with its rule in plain words), the
    request, the rating and its history, the decision of every close, and links to the
    records for whoever may view them."""
    panel = rating_panel(conversation=conversation)
    rating = panel.rating
    return {
        "conversation": conversation,
        "rating_panel": panel,
        "request_url": _change_url_if_allowed(
            request.user, RatingRequest, panel.request.pk if panel.request else None, site
        ),
        "rating_url": _change_url_if_allowed(
            request.user, Rating, rating.pk if rating else None, site
        ),
    }


conversation_panel_add(
    ConversationPanel(
        name="rating", template="admin/ratings/rating_panel.html", context=rating_panel_context
    )
)


def rating_marks(conversations) -> dict[int, str]:
    """The inbox list's Rating column: the ratings of each conversation of the page, the
    teammate's first, then the bot's marked as such (B5: a conversation may have one of
    each)."""
    rows = (
        Rating.objects.filter(conversation_id__in=[c.pk for c in conversations])
        .order_by("conversation_id", "-kind")  # "teammate" before "bot"
        .values_list("conversation_id", "kind", "value")
    )
    marks: dict[int, list] = {}
    for conversation_id, kind, value in rows:
        marks.setdefault(conversation_id, []).append(
            format_html(
                '<span class="inbox-rating">{}{} {}</span>',
                "Bot: " if kind == Kind.BOT else "",
                face(value, 18),
                reaction(value).label,
            )
        )
    return {
        pk: format_html_join(" ", "{}", ((mark,) for mark in shown)) for pk, shown in marks.items()
    }


list_marks_add("rating", rating_marks)
