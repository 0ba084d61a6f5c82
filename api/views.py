"""The REST API: thin views over the services (writes) and selectors (reads).

Each view parses its input with a strict serializer, calls one service or selector and
renders the result. The rules live in `conversations.services`, `ratings.services`,
`ratings.selectors` and `reports.selectors`, exactly as for the admin and the pages, so the
API refuses what they refuse (as a 4xx in the one error shape, api.errors) and sends the same
signals.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api import idempotency
from api.errors import error_body
from api.models import Webhook, WebhookDelivery
from api.pagination import Cursor
from api.permissions import ActsAsTeammate, HasRequiredPerms, teammate_of
from api.serializers import (
    CloseSerializer,
    CommentInputSerializer,
    ContactCreateSerializer,
    ContactQuerySerializer,
    ContactSerializer,
    ConversationCreateSerializer,
    ConversationDetailSerializer,
    ConversationQuerySerializer,
    ConversationSerializer,
    DecisionSerializer,
    EmptySerializer,
    ErrorSerializer,
    MessageSerializer,
    PartSerializer,
    PeriodQuerySerializer,
    RatingCardSerializer,
    RatingDetailSerializer,
    RatingSerializer,
    RatingSettingsSerializer,
    RatingsQuerySerializer,
    ReactionInputSerializer,
    SnoozeSerializer,
    SummarySerializer,
    TeammateSerializer,
    TeammatesReportQuerySerializer,
    TeammatesReportSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)
from api.throttles import CustomerAddressThrottle, RatingTokenThrottle
from conversations import services as conversation_services
from conversations.models import Contact, Conversation, Origin, Teammate
from ratings import selectors as rating_selectors
from ratings.admin import RatingSettingsForm
from ratings.models import Rating, RatingSettings
from ratings.rules import REASONS
from ratings.scale import REACTIONS
from ratings.services import rating_comment, rating_submit
from reports import selectors as report_selectors

CONVERSATION_CREATE = "conversation.create"


def validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _found(queryset, pk, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"There is no {what} {pk}.")
    return found


class PaginatedList(generics.ListAPIView):
    """A cursor-paginated list whose filters come from a query serializer."""

    query_serializer_class: type[serializers.Serializer] | None = None

    def filtered(self, queryset, query: dict):
        return queryset

    def list(self, request, *args, **kwargs):
        query = (
            validated(self.query_serializer_class, request.query_params)
            if self.query_serializer_class
            else {}
        )
        queryset = self.filtered(self.get_queryset(), query)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- contacts and teammates -----------------------------------------------------------------------


@extend_schema(tags=["contacts"])
class ContactList(PaginatedList):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    query_serializer_class = ContactQuerySerializer
    required_perms = {
        "GET": ["conversations.view_contact"],
        "POST": ["conversations.add_contact"],
    }

    def filtered(self, queryset, query):
        if query.get("email"):
            queryset = queryset.filter(email__icontains=query["email"].strip())
        return queryset

    @extend_schema(summary="List contacts", parameters=[ContactQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a contact",
        request=ContactCreateSerializer,
        responses={201: ContactSerializer},
    )
    def post(self, request):
        data = validated(ContactCreateSerializer, request.data)
        contact = conversation_services.contact_create(**data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["contacts"], summary="Read a contact")
class ContactDetail(generics.RetrieveAPIView):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    lookup_url_kwarg = "id"
    required_perms = {"GET": ["conversations.view_contact"]}


@extend_schema(tags=["teammates"], summary="List teammates")
class TeammateList(PaginatedList):
    queryset = Teammate.objects.select_related("user")
    serializer_class = TeammateSerializer
    required_perms = {"GET": ["conversations.view_teammate"]}


@extend_schema(tags=["teammates"], summary="Read a teammate")
class TeammateDetail(generics.RetrieveAPIView):
    queryset = Teammate.objects.select_related("user")
    serializer_class = TeammateSerializer
    lookup_url_kwarg = "id"
    required_perms = {"GET": ["conversations.view_teammate"]}


# --- conversations --------------------------------------------------------------------------------


def _conversation_detail(pk: int) -> dict:
    conversation = Conversation.objects.prefetch_related("contacts", "parts").get(pk=pk)
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
        response = Response(_conversation_detail(conversation.pk), status=status.HTTP_201_CREATED)
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

    def act(self, conversation: Conversation, teammate: Teammate, data: dict) -> Response:
        raise NotImplementedError

    def post(self, request, id):
        data = validated(self.input_serializer, request.data)
        conversation = _found(Conversation.objects.all(), id, "conversation")
        return self.act(conversation, teammate_of(request.user), data)


def _action_schema(
    summary: str, description: str, request, response=ConversationDetailSerializer, code=200
):
    return extend_schema(
        tags=["conversations"],
        summary=summary,
        description=description + " Done by the calling teammate, through the same service "
        "as the admin inbox; a refusal is a 400 with the service's message.",
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
            conversation=conversation, author=teammate, body=data["body"]
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
            conversation=conversation, author=teammate, body=data["body"]
        )
        return Response(PartSerializer(part).data, status=status.HTTP_201_CREATED)


@_action_schema(
    "Close",
    "Closes the conversation; once committed, the rating request is decided by the rules "
    "(E1–E8) in the task queue (see rating-request). `quiet` sends no survey (E8).",
    CloseSerializer,
)
class ConversationClose(ConversationAction):
    input_serializer = CloseSerializer

    def act(self, conversation, teammate, data):
        conversation_services.conversation_close(
            conversation=conversation, by=teammate, quiet=data["quiet"]
        )
        return Response(_conversation_detail(conversation.pk))


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
        return Response(_conversation_detail(conversation.pk))


@_action_schema("Reopen", "Reopens a closed or snoozed conversation.", EmptySerializer)
class ConversationReopen(ConversationAction):
    def act(self, conversation, teammate, data):
        conversation_services.conversation_reopen(conversation=conversation, by=teammate)
        return Response(_conversation_detail(conversation.pk))


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
        conversation = _found(Conversation.objects.all(), id, "conversation")
        decision = rating_selectors.rating_decision(conversation=conversation)
        return Response(DecisionSerializer(decision).data)


@extend_schema(
    tags=["conversations"],
    summary="The conversation's rating with its history (A8)",
    responses={200: RatingDetailSerializer},
)
class ConversationRating(APIView):
    required_perms = {"GET": ["conversations.view_conversation", "ratings.view_rating"]}

    def get(self, request, id):
        conversation = _found(Conversation.objects.all(), id, "conversation")
        rating = Rating.objects.prefetch_related("history").filter(conversation=conversation)
        rating = rating.first()
        if rating is None:
            raise NotFound("This conversation has no rating.")
        return Response(RatingDetailSerializer(rating).data)


# --- ratings and reports --------------------------------------------------------------------------


def _period(query_serializer: serializers.Serializer):
    """The report period of the validated query (the report pages' own parsing)."""
    return report_selectors.period_from_params(query_serializer.period_params())


def _validated_query(serializer_class, request) -> serializers.Serializer:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


class RatingCursor(Cursor):
    ordering = ("-rated_at", "-id")


@extend_schema(
    tags=["ratings"],
    summary="List ratings",
    description="Newest first, over a period (as the report pages: `days` or `from`/`to`, the "
    "last 30 days by default), by reaction, teammate and follow-up (R3's selector).",
    parameters=[RatingsQuerySerializer],
)
class RatingList(PaginatedList):
    queryset = Rating.objects.all()
    serializer_class = RatingSerializer
    pagination_class = RatingCursor
    required_perms = {"GET": ["ratings.view_rating"]}

    def list(self, request, *args, **kwargs):
        query = _validated_query(RatingsQuerySerializer, request)
        data = query.validated_data
        ratings = report_selectors.comments(
            period=_period(query),
            teammate_id=data.get("teammate"),
            values=tuple(sorted(set(data.get("reaction") or ()))),
            followed_up=data.get("followed_up"),
        )
        page = self.paginate_queryset(ratings)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["ratings"], summary="Read a rating with its history (A8)")
class RatingDetail(generics.RetrieveAPIView):
    queryset = Rating.objects.prefetch_related("history")
    serializer_class = RatingDetailSerializer
    lookup_url_kwarg = "id"
    required_perms = {"GET": ["ratings.view_rating"]}


def _reaction_counts(counts) -> list[dict]:
    total = counts.total
    return [
        {
            "value": r.value,
            "name": r.name,
            "emoji": r.emoji,
            "count": counts.by_value[r.value],
            "share": report_selectors.share(counts.by_value[r.value], total),
        }
        for r in reversed(REACTIONS)
    ]


@extend_schema(
    tags=["reports"],
    summary="CSAT summary (R1)",
    description="The figures of the summary page, from the same selectors.",
    parameters=[PeriodQuerySerializer],
    responses={200: SummarySerializer},
)
class ReportSummary(APIView):
    required_perms = {"GET": ["reports.view_reports"]}

    def get(self, request):
        query = _validated_query(PeriodQuerySerializer, request)
        period = _period(query)
        teammate_id = query.validated_data.get("teammate")
        summary = report_selectors.csat_summary(period=period, teammate_id=teammate_id)
        bucket, points = report_selectors.csat_trend(period=period, teammate_id=teammate_id)
        counts = summary.counts
        data = {
            "period": period,
            "teammate": teammate_id,
            "ratings": counts.total,
            "by_reaction": _reaction_counts(counts),
            "positive": counts.positive,
            "neutral": counts.neutral,
            "negative": counts.negative,
            "csat": counts.csat,
            "requests": summary.requests,
            "answered": summary.answered,
            "response_rate": summary.response_rate,
            "target": summary.target,
            "meets_target": summary.meets_target,
            "reasons": [{"reason": reason, "count": n} for reason, n in summary.reasons],
            "trend": {"bucket": bucket, "points": points},
        }
        return Response(SummarySerializer(data).data)


@extend_schema(
    tags=["reports"],
    summary="CSAT per teammate (R2)",
    description="The rows of the teammates page, from the same selector.",
    parameters=[TeammatesReportQuerySerializer],
    responses={200: TeammatesReportSerializer},
)
class ReportTeammates(APIView):
    required_perms = {"GET": ["reports.view_reports"]}

    def get(self, request):
        query = _validated_query(TeammatesReportQuerySerializer, request)
        period = _period(query)
        rows = report_selectors.teammates_table(
            period=period,
            sort=query.validated_data["sort"],
            teammate_id=query.validated_data.get("teammate"),
        )
        target = report_selectors.happiness_target()
        data = {
            "period": period,
            "target": target,
            "rows": [
                {
                    "teammate": row.teammate_id,
                    "name": row.name,
                    "requests": row.requests,
                    "ratings": row.ratings,
                    "csat": row.csat,
                    "meets_target": None if row.csat is None else row.csat >= target,
                    "by_reaction": _reaction_counts(row.counts),
                }
                for row in rows
            ],
        }
        return Response(TeammatesReportSerializer(data).data)


# --- rating settings ------------------------------------------------------------------------------


class RatingSettingsView(APIView):
    """The admin's rating settings. An update goes through the admin's own form (the model's
    validators and the form's checks: hours of at least 1 while a limit is on, a question,
    at most 12 distinct reasons …), so the API accepts exactly what the admin accepts."""

    required_perms = {
        "GET": ["ratings.view_ratingsettings"],
        "PATCH": ["ratings.change_ratingsettings"],
    }

    @extend_schema(
        tags=["settings"],
        summary="Read the rating settings",
        responses={200: RatingSettingsSerializer},
    )
    def get(self, request):
        current = RatingSettings.objects.filter(pk=1).first() or RatingSettings()
        return Response(RatingSettingsSerializer(current).data)

    @extend_schema(
        tags=["settings"],
        summary="Change rating settings",
        description="Send only the settings to change.",
        request=RatingSettingsSerializer,
        responses={200: RatingSettingsSerializer},
    )
    def patch(self, request):
        changes = dict(validated(RatingSettingsSerializer, request.data))
        if "low_rating_reasons" in changes:
            changes["low_rating_reasons"] = "\n".join(changes["low_rating_reasons"])
        with transaction.atomic():
            RatingSettings.load()
            current = RatingSettings.objects.select_for_update().get(pk=1)
            fields = RatingSettingsForm._meta.fields
            data = {name: getattr(current, name) for name in fields if name != "rating_app"}
            data["rating_app"] = current.rating_app_id
            data.update(changes)
            data = {name: value for name, value in data.items() if value is not None}
            form = RatingSettingsForm(data=data, instance=current)
            if not form.is_valid():
                raise serializers.ValidationError(
                    {name: list(errors) for name, errors in form.errors.items()}
                )
            saved = form.save()
        return Response(RatingSettingsSerializer(saved).data)


# --- webhooks -------------------------------------------------------------------------------------


@extend_schema(tags=["webhooks"])
class WebhookList(generics.ListCreateAPIView):
    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    required_perms = {"GET": ["api.view_webhook"], "POST": ["api.add_webhook"]}

    @extend_schema(summary="List webhooks")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Register a webhook")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


@extend_schema(tags=["webhooks"])
class WebhookDetail(generics.RetrieveUpdateDestroyAPIView):
    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    lookup_url_kwarg = "id"
    http_method_names = ["get", "patch", "delete", "head", "options"]
    required_perms = {
        "GET": ["api.view_webhook"],
        "PATCH": ["api.change_webhook"],
        "DELETE": ["api.delete_webhook"],
    }

    @extend_schema(summary="Read a webhook")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Change a webhook")
    def patch(self, request, *args, **kwargs):
        return super().patch(request, *args, **kwargs)

    @extend_schema(summary="Remove a webhook (and its delivery records)")
    def delete(self, request, *args, **kwargs):
        return super().delete(request, *args, **kwargs)


@extend_schema(tags=["webhooks"], summary="A webhook's deliveries and their outcomes")
class WebhookDeliveryList(PaginatedList):
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    required_perms = {"GET": ["api.view_webhookdelivery"]}

    def filtered(self, queryset, query):
        webhook = _found(Webhook.objects.all(), self.kwargs["id"], "webhook")
        return queryset.filter(webhook=webhook)


# --- the customer's rating card (the Messenger) -----------------------------------------------


def _refusal(rule: str | None) -> dict | None:
    return {"rule": rule, "message": REASONS.get(rule, rule)} if rule else None


def _card(state: rating_selectors.RatingState) -> dict:
    rating = state.rating
    return {
        "conversation": state.request.conversation_id,
        "question": state.question,
        "reactions": [
            {"value": r.value, "name": r.name, "label": r.label, "emoji": r.emoji}
            for r in REACTIONS
        ],
        "rating": None
        if rating is None
        else {
            "value": rating.value,
            "reaction": state.current.name,
            "comment": rating.comment,
            "reasons": list(rating.reasons or []),
            "rated_at": rating.rated_at,
            "changed_at": rating.changed_at,
            "commented_at": rating.commented_at,
        },
        "can_rate": state.can_rate,
        "rate_refusal": _refusal(state.rate_refusal),
        "can_comment": state.can_comment,
        "comment_refusal": _refusal(state.comment_refusal),
        "reasons": list(state.reasons),
    }


def _card_response(token: str, code: int = 200) -> Response:
    state = rating_selectors.rating_link_state(token=token)
    return Response(RatingCardSerializer(_card(state)).data, status=code)


TOKEN_PARAMETER = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The rating request's signed token (from the Messenger card).",
)


class CustomerView(APIView):
    """No account: the signed token names the request (A9) and is all the credential; it never
    logs anyone in. Throttled per token and per address."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RatingTokenThrottle, CustomerAddressThrottle]
    error_statuses = (404,)


@extend_schema(
    tags=["messenger"],
    summary="The rating card of a request",
    description="The current rating, whether a rating (or a change) and a comment are taken "
    "now and, if not, the rule that refuses them (A2–A6), the question and the reasons "
    "offered after a terrible or bad rating (A1). Reads only.",
    parameters=[TOKEN_PARAMETER],
    responses={200: RatingCardSerializer},
)
class MessengerCard(CustomerView):
    def get(self, request, token):
        return _card_response(token)


@extend_schema(
    tags=["messenger"],
    summary="Rate, or change the rating",
    description="A1, A2; refused with the rule's id as `code`: A4 (403, too late to rate), "
    "A5 (403, too late to change), A3 (409, a comment was left).",
    parameters=[TOKEN_PARAMETER],
    request=ReactionInputSerializer,
    responses={
        200: RatingCardSerializer,
        403: OpenApiResponse(
            ErrorSerializer, description="A4 or A5: a time limit refuses it (see `code`)."
        ),
        409: OpenApiResponse(ErrorSerializer, description="A3: a comment was left."),
    },
)
class MessengerReaction(CustomerView):
    error_statuses = (403, 404, 409)

    def post(self, request, token):
        data = validated(ReactionInputSerializer, request.data)
        rating_submit(token=token, value=data["value"])
        return _card_response(token)


@extend_schema(
    tags=["messenger"],
    summary="Leave a comment (and reasons after a terrible or bad rating)",
    description="A1; one comment, after which the rating is final (A3: a second is refused "
    "with 409 and code A3).",
    parameters=[TOKEN_PARAMETER],
    request=CommentInputSerializer,
    responses={200: RatingCardSerializer},
)
class MessengerComment(CustomerView):
    error_statuses = (404, 409)

    def post(self, request, token):
        data = validated(CommentInputSerializer, request.data)
        rating_comment(token=token, comment=data["comment"], reasons=data["reasons"])
        return _card_response(token)


# --- anything else under /api/ --------------------------------------------------------------------


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Unknown addresses under /api/ answer in the error shape too."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        message = "There is nothing at this address."
        if not request.path.endswith("/"):
            message += " API addresses end with a slash."
        response = Response(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
