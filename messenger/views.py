"""The Messenger's faces: the script a company embeds, the iframe it opens, the same UI
full-page behind a signed link, and the small JSON endpoints the iframe talks to.

The iframe's endpoints take the widget's session token in the `X-Messenger-Session` header
(W4): no cookie is involved, so no other site can make a visitor's browser post here (there is
no CSRF to guard) and the pages work inside a third-party iframe, where browsers withhold
cookies. Errors are JSON `{code, message, fields}` with nothing written.
"""

from __future__ import annotations

from functools import cache, wraps
from pathlib import Path

from csp.decorators import csp_replace
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from conversations import services
from conversations.languages import contact_language, default_language, language_match
from conversations.models import BodyFormat, Channel, Contact, Conversation, Origin
from conversations.text import JsonRefused, json_loads
from messenger.origins import allowed_origins, frame_ancestors, host_origin, site_origin
from ratings.messenger import messenger_link_contact, messenger_page, messenger_version
from ratings.scale import REACTIONS
from ratings.tokens import BadToken, LinkEnded

SESSION_HEADER = "HTTP_X_MESSENGER_SESSION"
WIDGET_JS = Path(__file__).resolve().parent / "static" / "messenger" / "widget.js"


def _error(status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    response = JsonResponse(
        {"code": code, "message": message, "fields": fields or {}}, status=status
    )
    add_never_cache_headers(response)
    return response


def _json_body(request) -> dict:
    try:
        data = json_loads(request.body or b"{}")  # K13, K14: not too deep, no lone surrogate
    except RequestDataTooBig:
        raise ValidationError("The request is too large.") from None
    except JsonRefused as refused:
        raise ValidationError(refused.message) from None
    if not isinstance(data, dict):
        raise ValidationError("The request is a JSON object.")
    return data


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} is text.")
    return value


def widget_api(view):
    """An endpoint of the iframe: JSON in and out; a refusal in words, nothing written."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except services.IdentityRefused as refused:
            return _error(403, "identity", refused.message)
        except ValidationError as error:
            return _error(400, "invalid", " ".join(error.messages))
        except Http404 as missing:
            return _error(404, "not_found", str(missing) or "Not found.")
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response

    return wrapper


def _contact(request) -> Contact:
    return services.session_contact(request.META.get(SESSION_HEADER, ""))


# --- the script and the frame -------------------------------------------------------------------


@cache
def _widget_source() -> bytes:
    return WIDGET_JS.read_bytes()


@require_GET
def widget_js(request):
    """The one script a host page loads (W7): the launcher and the iframe, nothing else."""
    response = HttpResponse(_widget_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def frame_policy(view):
    """K10b: the site-wide Content-Security-Policy (csp.middleware) with the allowed origins
    as the frame's frame-ancestors (every other page says 'none'); read at each request, so
    the setting decides, never what the page is told. X-Frame-Options is left out (the view
    is xframe_options_exempt): its DENY would contradict them."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        policy = csp_replace({"frame-ancestors": frame_ancestors()})
        return policy(view)(request, *args, **kwargs)

    return wrapper


def frame_words() -> dict:
    """L2: the words frame.js shows, in the active language (the visitor's)."""
    return {
        "failed": _("Something went wrong. Please try again."),
        "offline": _(
            "We could not reach the Messenger. Check your connection; we will keep trying."
        ),
        "messages": _("Messages"),
        "start": _("Start a conversation"),
        "reply": _("Reply"),
        "help": _("How can we help?"),
        "write_reply": _("Write a reply…"),
        "empty": _("Write a message first."),
        "lead_saved": _("Thanks: we can also answer you at {email}."),
        "frame_only": _("This page is the Messenger's frame: it opens from the company's website."),
    }


def _frame_response(request, *, mode: str, host: str = "", link: str = "", page=None):
    config = {
        "mode": mode,
        "host": host,
        "allowed": allowed_origins(),
        "link": link,
        "poll": settings.MESSENGER_POLL_SECONDS,
        "words": frame_words(),
        "urls": {
            "session": reverse("messenger:session"),
            "threads": reverse("messenger:threads"),
            "start": reverse("messenger:start"),
            "reply": reverse("messenger:reply", args=[0]),
            "me": reverse("messenger:me"),
            # The card API's base (frame.js adds "<token>/reaction/" or "<token>/comment/").
            "card": reverse("api:messenger-card", args=["-"]).removesuffix("-/"),
        },
    }
    response = render(
        request,
        "messenger/frame.html",
        {"config": config, "mode": mode, "page": page, "reactions": REACTIONS},
    )
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response


@xframe_options_exempt
@frame_policy
@require_GET
def frame(request):
    """W7: the iframe the launcher opens; it shows nothing until the host page, from an allowed
    origin, has said who the visitor is."""
    # L2: the widget names the visitor's language (the host page's, else the browser's); the
    # threads, drawn once the session is known, speak the contact's own.
    language = language_match(request.GET.get("lang", "")) or default_language()
    with translation.override(language):
        return _frame_response(request, mode="frame", host=host_origin(request.GET.get("host", "")))


@require_GET
def link(request, token):
    """The same Messenger full-page, for a link in an email: the signed link names the
    contact; the threads are drawn at once (and work without JavaScript). No site frames it
    (K10: frame-ancestors 'none', X-Frame-Options DENY)."""
    try:
        contact = messenger_link_contact(token=token)
    except LinkEnded as ended:  # K19: expired or revoked: a finished page, nothing changes
        with translation.override(ended.language):  # L1: the language of whom it named
            response = render(
                request, "messenger/link_ended.html", {"message": str(ended)}, status=410
            )
        add_never_cache_headers(response)
        return response
    except BadToken:
        response = render(
            request,
            "ratings/invalid_link.html",
            {"message": gettext_noop("This Messenger link is not valid.")},
            status=404,
        )
        add_never_cache_headers(response)
        return response
    page = messenger_page(contact=contact)
    with translation.override(contact_language(contact)):  # L2
        return _frame_response(request, mode="page", link=token, page=page, host=site_origin())


# --- the iframe's endpoints ---------------------------------------------------------------------


@widget_api
@require_POST
def session(request):
    """W1, W2, W4: who the visitor is → a session token. A verified user (user_id and
    user_hash), a lead (visitor_id, or none for a new one), or a signed Messenger link."""
    data = _json_body(request)
    if data.get("link"):
        try:
            contact = messenger_link_contact(token=str(data["link"]))
        except LinkEnded as ended:  # K19
            raise services.IdentityRefused(str(ended)) from None
        except BadToken:
            raise services.IdentityRefused("This Messenger link is not valid.") from None
    elif data.get("user_id") not in (None, ""):
        contact = services.messenger_user(
            user_id=data.get("user_id"),
            user_hash_given=data.get("user_hash"),
            email=_text(data, "email"),
            name=_text(data, "name"),
            language=_text(data, "language"),
        )
    elif data.get("user_hash"):
        raise services.IdentityRefused()  # a hash with no id to check it against
    else:
        contact = services.messenger_lead(
            visitor_id=data.get("visitor_id"),
            language=_text(data, "language"),
            browser_language=_text(data, "browser_language"),
        )
    return JsonResponse(
        {
            "session": services.session_token(contact),
            "visitor_id": contact.visitor_id or "",
            "contact": {"role": contact.role, "name": contact.name, "email": contact.email},
            "language": contact_language(contact),
        }
    )


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match (RFC 9110 13.1.2): compared weakly, and it may list several tags. A proxy
    that compresses the answer (nginx's gzip) weakens the ETag to W/"…", which comes back."""
    return etag in (tag.removeprefix("W/") for tag in parse_etags(header))


@widget_api
@require_GET
def threads(request):
    """W5, W6: the contact's conversations as HTML for the iframe; with `If-None-Match`, a
    304 in one query when nothing changed, none with the version cache (H4, Redis)."""
    contact_id = services.session_contact_id(request.META.get(SESSION_HEADER, ""))
    etag = f'"{messenger_version(contact_id=contact_id)}"'
    if _etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response = HttpResponse(status=304)
    else:
        # G2: refused once erased; K19: once the contact's links were revoked
        contact = services.session_contact(request.META.get(SESSION_HEADER, ""))
        with translation.override(contact_language(contact)):  # L2
            response = render(
                request,
                "messenger/_threads.html",
                {"page": messenger_page(contact=contact), "reactions": REACTIONS, "widget": True},
            )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@widget_api
@require_POST
def start(request):
    """The visitor starts a conversation (origin customer, channel messenger)."""
    contact = _contact(request)
    data = _json_body(request)
    conversation = services.conversation_start(
        channel=Channel.MESSENGER,
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        body=services.message_length_check(_text(data, "body")),  # K16
        body_format=BodyFormat.TEXT,  # what the visitor typed, shown and counted as typed (E3a)
    )
    return JsonResponse({"conversation": conversation.pk}, status=201)


@widget_api
@require_POST
def reply(request, pk):
    """The visitor replies in one of their conversations (a closed one reopens, Z3)."""
    contact = _contact(request)
    data = _json_body(request)
    conversation = Conversation.objects.filter(pk=pk, contacts=contact).first()
    if conversation is None:
        raise Http404("You have no such conversation.")
    part = services.conversation_reply(
        conversation=conversation,
        author=contact,
        body=services.message_length_check(_text(data, "body")),  # K16
        body_format=BodyFormat.TEXT,
    )
    return JsonResponse({"conversation": conversation.pk, "part": part.pk}, status=201)


@widget_api
@require_POST
def me(request):
    """W2: a lead leaves their email and name."""
    contact = _contact(request)
    data = _json_body(request)
    contact = services.contact_details_set(
        contact=contact, email=_text(data, "email"), name=_text(data, "name")
    )
    return JsonResponse({"role": contact.role, "name": contact.name, "email": contact.email})
