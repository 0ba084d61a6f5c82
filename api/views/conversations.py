"""Conversations and the inbox actions, through `conversations.services`; a conversation's
rating decision and rating."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api import idempotency
from api.pagination import Cursor
from api.permissions import ActsAsTeammate, HasRequiredPerms
from api.serializers.common import EmptySerializer
from api.serializers.conversations import (
    CloseSerializer,
    ConversationCreateSerializer,
    ConversationDetailSerializer,
    ConversationQuerySerializer,
    ConversationSerializer,
    MessageSerializer,
    PartSerializer,
    SnoozeSerializer,
)
from api.serializers.ratings import (
    DecisionSerializer,
    RatingDetailSerializer,
    RatingKindQuerySerializer,
)
from api.views.base import PaginatedList, found_or_404, validated, validated_query
from conversations import services as conversation_services
from conversations.models import Conversation, Origin, Teammate
from conversations.selectors import teammate_of
from ratings import selectors as rating_selectors
from ratings.models import Kind, Rating

CONVERSATION_CREATE = "conversation.create"


def _conversation_detail(conversation: Conversation) -> dict:
    """The conversation as a service left it (its row up to date), with its contacts and
    thread read (two queries)."""
    prefetch_related_objects([conversation], "contacts", "parts")
    return ConversationDetailSerializer(conversation).data


class ConversationCursor(Cursor):
    ordering = ("-updated_at", "-id")


@extend_schema(tags=["conversations"])
class ConversationList(PaginatedList):
    queryset = Conversation.objects.prefetch_related("contacts")
    serializer_class = ConversationSerializer
    query_serializer_class = ConversationQuerySerializer
    pagination_class = ConversationCursor
    permission_classes = [IsAuthenticated, HasRequiredPerms, ActsAsTeammate]
    required_perms = {
        "GET": ["conversations.view_conversation"],
        "POST": ["conversations.add_conversation"],
    }
    error_statuses = {"POST": (409, 422)}

    def filtered(self, queryset, query):
        if "state" in query:
            queryset = queryset.filter(state=query["state"])
        if "teammate" in query:
            queryset = queryset.filter(assignee_id=query["teammate"])
        if "updated_since" in query:
            queryset = queryset.filter(updated_at__gte=query["updated_since"])
        return queryset

    @extend_schema(
        summary="List conversations",
        description="Newest change first; filter by state, assignee and time of last change.",
        parameters=[ConversationQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start a conversation",
        description="The same service as the admin inbox. With an `Idempotency-Key` header, "
        "sending the same request again returns the conversation the first one made (201, "
        "header `Idempotent-Replayed: true`) instead of a second one.",
        request=ConversationCreateSerializer,
        responses={201: ConversationDetailSerializer},
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="A unique key per conversation to create (1–255 characters).",
            )
        ],
    )
    def post(self, request):
        key = idempotency.key_from(request)
        data = validated(ConversationCreateSerializer, request.data)
        teammate = teammate_of(request.user)

        def create():
            return conversation_services.conversation_start(
                channel=data["channel"],
                origin=data["origin"],
                contacts=data["contacts"],
                body=data["body"],
                body_format=data["body_format"],
                subject=data["subject"],
                workflow=data["workflow"],
                started_by=teammate if data["origin"] == Origin.DIRECT_OUTBOUND else None,
            )

        conversation, replayed = idempotency.create_once(
            user=request.user,
            scope=CONVERSATION_CREATE,
            key=key,
            body_fingerprint=idempotency.fingerprint(request.data),
            create=create,
        )
        response = Response(_conversation_detail(conversation), status=status.HTTP_201_CREATED)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


@extend_schema(tags=["conversations"], summary="Read a conversation with its thread")
class ConversationDetail(generics.RetrieveAPIView):
    queryset = Conversation.objects.prefetch_related("contacts", "parts")
    serializer_class = ConversationDetailSerializer
    lookup_url_kwarg = "id"
    required_perms = {"GET": ["conversations.view_conversation"]}


class ConversationAction(APIView):
    """POST /conversations/{id}/<action>/: one service call by the calling teammate."""

    permission_classes = [IsAuthenticated, HasRequiredPerms, ActsAsTeammate]
    required_perms = {"POST": ["conversations.change_conversation"]}
    input_serializer: type[serializers.Serializer] = EmptySerializer

    def act(self, conversation: Conversation, teammate: Teammate | None, data: dict) -> Response:
        raise NotImplementedError

    def actor(self, user) -> Teammate | None:
        """Who acts: the calling teammate (the bot's actions: no one, B)."""
        return teammate_of(user)

    def post(self, request, id):
        data = validated(self.input_serializer, request.data)
        # The service reads (and locks) the row itself, then fills this object in.
        conversation = Conversation(pk=id)
        try:
            return self.act(conversation, self.actor(request.user), data)
        except conversation_services.ConversationMissing:
            raise NotFound(f"There is no conversation {id}.") from None


TEAMMATE_DOES = "Done by the calling teammate, through the same service as the admin inbox"
BOT_DOES = "Done as the bot, through the same service as every face"


def _action_schema(
    summary: str,
    description: str,
    request,
    response=ConversationDetailSerializer,
    code=200,
    *,
    done=TEAMMATE_DOES,
):
    return extend_schema(
        tags=["conversations"],
        summary=summary,
        description=f"{description} {done}; a refusal is a 400 with the service's message.",
        request=request,
        responses={code: response},
    )


@_action_schema(
    "Reply",
    "A reply visible to the customer; a closed conversation must be reopened first.",
    MessageSerializer,
    PartSerializer,
    201,
)
class ConversationReply(ConversationAction):
    input_serializer = MessageSerializer

    def act(self, conversation, teammate, data):
        part = conversation_services.conversation_reply(
            conversation=conversation,
            author=teammate,
            body=data["body"],
            body_format=data["body_format"],
        )
        return Response(PartSerializer(part).data, status=status.HTTP_201_CREATED)


@_action_schema(
    "Add an internal note",
    "Seen by teammates only; never counted for the survey (E3).",
    MessageSerializer,
    PartSerializer,
    201,
)
class ConversationNote(ConversationAction):
    input_serializer = MessageSerializer

    def act(self, conversation, teammate, data):
        part = conversation_services.conversation_note(
            conversation=conversation,
            author=teammate,
            body=data["body"],
            body_format=data["body_format"],
        )
        return Response(PartSerializer(part).data, status=status.HTTP_201_CREATED)


@_action_schema(
    "Close",
    "Closes the conversation; once committed, the rating request is decided by the rules "
    "(E1–E9) in the task queue (see rating-request). `quiet` sends no survey (E8).",
    CloseSerializer,
)
class ConversationClose(ConversationAction):
    input_serializer = CloseSerializer

    def act(self, conversation, teammate, data):
        conversation_services.conversation_close(
            conversation=conversation, by=teammate, quiet=data["quiet"]
        )
        return Response(_conversation_detail(conversation))


class BotAction(ConversationAction):
    """POST /conversations/{id}/bot-…/: the bot (an AI agent behind an integration) acts; the
    caller need not be a teammate (B)."""

    permission_classes = [IsAuthenticated, HasRequiredPerms]

    def actor(self, user) -> None:
        return None


@_action_schema(
    "Post a bot message",
    "A message by the bot: visible to the customer, not a reply (E3 does not count it for a "
    "teammate's request; it does for the bot's, B).",
    MessageSerializer,
    PartSerializer,
    201,
    done=BOT_DOES,
)
class ConversationBotMessage(BotAction):
    input_serializer = MessageSerializer

    def act(self, conversation, teammate, data):
        part = conversation_services.conversation_bot_message(
            conversation=conversation, body=data["body"], body_format=data["body_format"]
        )
        return Response(PartSerializer(part).data, status=status.HTTP_201_CREATED)


@_action_schema(
    "Close as the bot",
    "The bot closes the conversation. With no teammate reply, the bot's own rating request is "
    "decided (B1–B5, with E1, E3–E6, E8, E9); after a teammate replied, the teammate's request "
    "under the usual rules (E1–E9). `quiet` sends no survey (E8).",
    CloseSerializer,
    done=BOT_DOES,
)
class ConversationBotClose(BotAction):
    input_serializer = CloseSerializer

    def act(self, conversation, teammate, data):
        conversation_services.conversation_bot_close(conversation=conversation, quiet=data["quiet"])
        return Response(_conversation_detail(conversation))


@_action_schema(
    "Snooze",
    "Sets an open conversation aside until `until` (Z1); it wakes by itself (Z2).",
    SnoozeSerializer,
)
class ConversationSnooze(ConversationAction):
    input_serializer = SnoozeSerializer

    def act(self, conversation, teammate, data):
        conversation_services.conversation_snooze(
            conversation=conversation, by=teammate, until=data["until"]
        )
        return Response(_conversation_detail(conversation))


@_action_schema("Reopen", "Reopens a closed or snoozed conversation.", EmptySerializer)
class ConversationReopen(ConversationAction):
    def act(self, conversation, teammate, data):
        conversation_services.conversation_reopen(conversation=conversation, by=teammate)
        return Response(_conversation_detail(conversation))


@extend_schema(
    tags=["conversations"],
    summary="Rating request status",
    description="The decision of the latest close: none (never closed), pending, sent (with "
    "the request) or skipped (with the rule, E1–E8, and why).",
    responses={200: DecisionSerializer},
)
class ConversationRatingRequest(APIView):
    required_perms = {"GET": ["conversations.view_conversation", "ratings.view_ratingdecision"]}

    def get(self, request, id):
        conversation = found_or_404(Conversation.objects.all(), id, "conversation")
        decision = rating_selectors.rating_decision(conversation=conversation)
        return Response(DecisionSerializer(decision).data)


@extend_schema(
    tags=["conversations"],
    summary="The conversation's rating with its history (A8)",
    description="The teammate's rating, else the bot's (B); `kind` picks one.",
    parameters=[RatingKindQuerySerializer],
    responses={200: RatingDetailSerializer},
)
class ConversationRating(APIView):
    required_perms = {"GET": ["conversations.view_conversation", "ratings.view_rating"]}

    def get(self, request, id):
        conversation = found_or_404(Conversation.objects.all(), id, "conversation")
        kind = validated_query(RatingKindQuerySerializer, request).validated_data.get("kind")
        ratings = Rating.objects.prefetch_related("history").filter(conversation=conversation)
        # B5: a teammate's rating and the bot's; the teammate's unless `kind` says otherwise.
        rating = ratings.filter(kind=kind or Kind.TEAMMATE).first()
        if rating is None and not kind:
            rating = ratings.first()
        if rating is None:
            raise NotFound("This conversation has no rating.")
        return Response(RatingDetailSerializer(rating).data)
