"""/api/: the versioned API (v1), its OpenAPI schema and the docs page."""

from django.urls import include, path, re_path, register_converter
from django.urls.converters import IntConverter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from api import views


class IdConverter(IntConverter):
    """A database id: at most 18 digits, so a huge number is a 404, not an overflow."""

    regex = "[0-9]{1,18}"


register_converter(IdConverter, "id")

v1 = [
    path("contacts/", views.ContactList.as_view(), name="contacts"),
    path("contacts/<id:id>/", views.ContactDetail.as_view(), name="contact"),
    path("teammates/", views.TeammateList.as_view(), name="teammates"),
    path("teammates/<id:id>/", views.TeammateDetail.as_view(), name="teammate"),
    path("conversations/", views.ConversationList.as_view(), name="conversations"),
    path("conversations/<id:id>/", views.ConversationDetail.as_view(), name="conversation"),
    path("conversations/<id:id>/replies/", views.ConversationReply.as_view(), name="reply"),
    path("conversations/<id:id>/notes/", views.ConversationNote.as_view(), name="note"),
    path("conversations/<id:id>/close/", views.ConversationClose.as_view(), name="close"),
    path("conversations/<id:id>/snooze/", views.ConversationSnooze.as_view(), name="snooze"),
    path("conversations/<id:id>/reopen/", views.ConversationReopen.as_view(), name="reopen"),
    path(
        "conversations/<id:id>/rating-request/",
        views.ConversationRatingRequest.as_view(),
        name="conversation-rating-request",
    ),
    path(
        "conversations/<id:id>/rating/",
        views.ConversationRating.as_view(),
        name="conversation-rating",
    ),
    path("ratings/", views.RatingList.as_view(), name="ratings"),
    path("ratings/<id:id>/", views.RatingDetail.as_view(), name="rating"),
    path("reports/summary/", views.ReportSummary.as_view(), name="report-summary"),
    path("reports/teammates/", views.ReportTeammates.as_view(), name="report-teammates"),
    path("settings/ratings/", views.RatingSettingsView.as_view(), name="rating-settings"),
    path("webhooks/", views.WebhookList.as_view(), name="webhooks"),
    path("webhooks/<id:id>/", views.WebhookDetail.as_view(), name="webhook"),
    path(
        "webhooks/<id:id>/deliveries/",
        views.WebhookDeliveryList.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "messenger/ratings/<str:token>/",
        views.MessengerCard.as_view(),
        name="messenger-card",
    ),
    path(
        "messenger/ratings/<str:token>/reaction/",
        views.MessengerReaction.as_view(),
        name="messenger-reaction",
    ),
    path(
        "messenger/ratings/<str:token>/comment/",
        views.MessengerComment.as_view(),
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
        SpectacularSwaggerView.as_view(
            url_name="api:schema", authentication_classes=[], permission_classes=[AllowAny]
        ),
        name="docs",
    ),
    re_path(r"^", views.NotFoundView.as_view()),  # anything else, newlines included
]
