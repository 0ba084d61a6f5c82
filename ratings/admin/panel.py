"""The rating panel of the inbox's conversation page ("why did this customer get no
survey?"), added through the hook the conversations app offers (`conversations.panels`),
so that `conversations` never needs to know about ratings."""

from __future__ import annotations

from conversations.adminkit import admin_url
from conversations.panels import ConversationPanel, conversation_panel_add
from ratings.models import (
    Rating,
    RatingRequest,
)
from ratings.selectors import rating_panel


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
