"""/api/: the versioned API (v1), its OpenAPI schema and the docs page."""

from django.urls import include, path, re_path, register_converter
from django.urls.converters import IntConverter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from api.views import base, conversations, messenger, people, ratings, reports, settings, webhooks


class IdConverter(IntConverter):
    """A database id: at most 18 digits, so a huge number is a 404, not an overflow."""

    regex = "[0-9]{1,18}"


register_converter(IdConverter, "id")

v1 = [
    path("contacts/", people.ContactList.as_view(), name="contacts"),
    path("contacts/<id:id>/", people.ContactDetail.as_view(), name="contact"),
    path("contacts/<id:id>/erase/", people.ContactErase.as_view(), name="contact_erase"),
    path("teammates/", people.TeammateList.as_view(), name="teammates"),
    path("teammates/<id:id>/", people.TeammateDetail.as_view(), name="teammate"),
    path("conversations/", conversations.ConversationList.as_view(), name="conversations"),
    path("conversations/<id:id>/", conversations.ConversationDetail.as_view(), name="conversation"),
    path("conversations/<id:id>/replies/", conversations.ConversationReply.as_view(), name="reply"),
    path("conversations/<id:id>/notes/", conversations.ConversationNote.as_view(), name="note"),
    path("conversations/<id:id>/close/", conversations.ConversationClose.as_view(), name="close"),
    path(
        "conversations/<id:id>/bot-messages/",
        conversations.ConversationBotMessage.as_view(),
        name="bot-message",
    ),
    path(
        "conversations/<id:id>/bot-close/",
        conversations.ConversationBotClose.as_view(),
        name="bot-close",
    ),
    path(
        "conversations/<id:id>/snooze/", conversations.ConversationSnooze.as_view(), name="snooze"
    ),
    path(
        "conversations/<id:id>/reopen/", conversations.ConversationReopen.as_view(), name="reopen"
    ),
    path(
        "conversations/<id:id>/rating-request/",
        conversations.ConversationRatingRequest.as_view(),
        name="conversation-rating-request",
    ),
    path(
        "conversations/<id:id>/rating/",
        conversations.ConversationRating.as_view(),
        name="conversation-rating",
    ),
    path("ratings/", ratings.RatingList.as_view(), name="ratings"),
    path("ratings/<id:id>/", ratings.RatingDetail.as_view(), name="rating"),
    path("reports/summary/", reports.ReportSummary.as_view(), name="report-summary"),
    path("reports/teammates/", reports.ReportTeammates.as_view(), name="report-teammates"),
    path("settings/ratings/", settings.RatingSettingsView.as_view(), name="rating-settings"),
    path("webhooks/", webhooks.WebhookList.as_view(), name="webhooks"),
    path("webhooks/<id:id>/", webhooks.WebhookDetail.as_view(), name="webhook"),
    path(
        "webhooks/<id:id>/deliveries/",
        webhooks.WebhookDeliveryList.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "messenger/ratings/<str:token>/",
        messenger.MessengerCard.as_view(),
        name="messenger-card",
    ),
    path(
        "messenger/ratings/<str:token>/reaction/",
        messenger.MessengerReaction.as_view(),
        name="messenger-reaction",
    ),
    path(
        "messenger/ratings/<str:token>/comment/",
        messenger.MessengerComment.as_view(),
        name="messenger-comment",
    ),
]

app_name = "api"

urlpatterns = [
    path("v1/", include(v1)),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="schema",
    ),
    path(
        "docs/",
        # K10a: Swagger UI with its start-up script at ?script (a static-like file), not
        # inline, under the site's Content-Security-Policy.
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema",
            template_name="api/swagger_ui.html",
            authentication_classes=[],
            permission_classes=[AllowAny],
        ),
        name="docs",
    ),
    re_path(r"^", base.NotFoundView.as_view()),  # anything else, newlines included
]
