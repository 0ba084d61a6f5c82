"""The product's URLs plus two bare views, the references the side-by-side ratios compare
with, under the same gunicorn and middleware:

- `/bench/ok`: a bare Django view (no database, no template), for the rating clicks;
- `/bench/api-ok`: a bare DRF view for the API's closes: a POST with a JSON body, through the
  API's own authentication (the teammate's token: one query), permission classes (the
  teammate's permissions: one query) and renderers, that answers `{"ok": true}`.
"""

from django.http import HttpResponse
from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import ActsAsTeammate, HasRequiredPerms


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


class BareApi(APIView):
    """The API's framework cost with no product work: the permission classes and
    `required_perms` of the conversation actions (ConversationAction), the body parsed."""

    permission_classes = [IsAuthenticated, HasRequiredPerms, ActsAsTeammate]
    required_perms = {"POST": ["conversations.change_conversation"]}

    def post(self, request):
        return Response({"ok": isinstance(request.data, dict)})


urlpatterns = [
    path("bench/ok", bare, name="bench-ok"),
    path("bench/api-ok", BareApi.as_view(), name="bench-api-ok"),
    path("", include("csat_project.urls")),
]
