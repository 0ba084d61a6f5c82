"""The rating panel of the inbox's conversation page ("why did this customer get no
survey?"), added through the hook the conversations app offers (`conversations.panels`),
so that `conversations` never needs to know about ratings."""

from __future__ import annotations

from django.utils.html import format_html

from conversations.adminkit import admin_url
from conversations.panels import ConversationPanel, conversation_panel_add, list_marks_add
from ratings.models import (
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
    """The inbox list's Rating column: the rating of each conversation of the page, if any."""
    rows = Rating.objects.filter(conversation_id__in=[c.pk for c in conversations]).values_list(
        "conversation_id", "value"
    )
    marks = {}
    for conversation_id, value in rows:
        shown = reaction(value)
        marks[conversation_id] = format_html(
            '<span class="inbox-rating">{} {}</span>', face(value, 18), shown.label
        )
    return marks


list_marks_add("rating", rating_marks)
