"""The customer's rating card in the Messenger: the signed token is the only credential."""

from __future__ import annotations

from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.common import ErrorSerializer
from api.serializers.messenger import (
    CommentInputSerializer,
    RatingCardSerializer,
    ReactionInputSerializer,
)
from api.throttles import CustomerAddressThrottle, RatingTokenThrottle
from api.views.base import validated
from conversations.languages import default_language
from ratings import selectors as rating_selectors
from ratings.answers import rating_comment, rating_submit
from ratings.links import RatingLinkInvalid
from ratings.models import Source
from ratings.scale import REACTIONS, customer_words


def _refusal(rule: str | None) -> dict | None:
    return {"rule": rule, "message": customer_words(rule)} if rule else None


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
        "reason_words": [words for _reason, words in state.reason_choices],
    }


def _card_response(token: str, user, code: int = 200) -> Response:
    """The card, in the language of the contact it belongs to (L2): read with the request.
    `user`: the browser's (K11: staff see the card's refusals, `K11`, instead of offers)."""
    staff = rating_selectors.staff_signed_in(user)
    state = rating_selectors.rating_link_state(token=token, staff=staff)
    translation.activate(state.language)
    return Response(RatingCardSerializer(_card(state)).data, status=code)


TOKEN_PARAMETER = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The rating request's signed token (from the Messenger card).",
)


class CustomerView(APIView):
    """No account: the signed token names the request (A9) and is all the credential; it never
    logs anyone in. Throttled per token and per address.

    K11: the browser's own sign-in (the site's session cookie, sent by the Messenger's page
    on this site) is read only to refuse staff (`browser_user`); it grants nothing, so no
    authentication class (and no CSRF check) applies. K12: its answers are the Messenger's."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RatingTokenThrottle, CustomerAddressThrottle]
    error_statuses = (404,)

    def dispatch(self, request, *args, **kwargs):
        """L2: the card's words (labels, question, reasons, refusals) in the language of the
        contact the card belongs to: the card turns it on as it reads the request
        (`_card_response`), a refusal before it is said in it too (`handle_exception`); the
        default language until then."""
        with translation.override(default_language()):
            response = super().dispatch(request, *args, **kwargs)
            language = translation.get_language()
        response["Content-Language"] = language
        return response

    def handle_exception(self, exc):
        """A refusal (bad input, a rule, the throttle) in the contact's language: one query,
        on refusals only. A bad link is said in the default language."""
        if not isinstance(exc, RatingLinkInvalid):
            translation.activate(
                rating_selectors.rating_link_language(self.kwargs.get("token", ""))
            )
            if isinstance(exc, exceptions.Throttled):
                exc = exceptions.Throttled(wait=exc.wait)  # its words, in that language
        return super().handle_exception(exc)

    browser_user = None

    def initialize_request(self, request, *args, **kwargs):
        """K11: keep the user the browser is signed in as on this site (Django's session,
        still unread: a lazy object), before DRF's authentication, which has no class here,
        replaces it with an anonymous user."""
        self.browser_user = getattr(request, "user", None)
        return super().initialize_request(request, *args, **kwargs)

    def validated(self, serializer_class) -> dict:
        """The input, checked; its refusal in the contact's language (L2)."""
        serializer = serializer_class(data=self.request.data)
        if serializer.is_valid():
            return serializer.validated_data
        translation.activate(rating_selectors.rating_link_language(self.kwargs.get("token", "")))
        return validated(serializer_class, self.request.data)


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
        return _card_response(token, self.browser_user)


@extend_schema(
    tags=["messenger"],
    summary="Rate, or change the rating",
    description="A1, A2; refused with the rule's id as `code`: A4 (403, too late to rate), "
    "A5 (403, too late to change), A3 (409, a comment was left), K11 (403, the browser is "
    "signed in as staff).",
    parameters=[TOKEN_PARAMETER],
    request=ReactionInputSerializer,
    responses={
        200: RatingCardSerializer,
        403: OpenApiResponse(
            ErrorSerializer,
            description="A4 or A5: a time limit refuses it; K11: signed in as staff (see `code`).",
        ),
        409: OpenApiResponse(ErrorSerializer, description="A3: a comment was left."),
    },
)
class MessengerReaction(CustomerView):
    error_statuses = (403, 404, 409)

    def post(self, request, token):
        data = self.validated(ReactionInputSerializer)
        rating_submit(
            token=token, value=data["value"], by=self.browser_user, source=Source.MESSENGER
        )
        return _card_response(token, self.browser_user)


@extend_schema(
    tags=["messenger"],
    summary="Leave a comment (and reasons after a terrible or bad rating)",
    description="A1; one comment, after which the rating is final (A3: a second is refused "
    "with 409 and code A3; K11: refused with 403 when the browser is signed in as staff).",
    parameters=[TOKEN_PARAMETER],
    request=CommentInputSerializer,
    responses={200: RatingCardSerializer},
)
class MessengerComment(CustomerView):
    error_statuses = (403, 404, 409)

    def post(self, request, token):
        data = self.validated(CommentInputSerializer)
        rating_comment(
            token=token,
            comment=data["comment"],
            reasons=data["reasons"],
            by=self.browser_user,
            source=Source.MESSENGER,
        )
        return _card_response(token, self.browser_user)
