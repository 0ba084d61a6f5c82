"""The customer's pages: the rating page behind an email link and its comment form (the
Messenger, with the same rating card, is the `messenger` app). Thin views over
ratings.selectors (reads) and ratings.answers (writes); the rules live there, and so does each
refusal's status.

A GET never writes (mail scanners open every link). The page posts its link's reaction by
itself (a static script, marked `auto`); A10 keeps a scanner that runs it from leaving a
rating (ratings.answers). A link never logs anyone in (A9). Every
response carries `Cache-Control: no-store`, `X-Robots-Tag: noindex` and
`Referrer-Policy: same-origin`: the signed token in the address is never sent to another site
or stored. (Not `no-referrer`: under it browsers send `Origin: null` with the page's own form
posts, and Django's CSRF check rightly refuses those.)

Status codes (A7: whatever is refused is said plainly on the page):
  200  the page; 303 after an accepted post (POST/redirect/GET, to `?done=…` or `next`)
  400  bad input: no reaction or not 1–5, an empty or too long comment, an unknown reason
  403  a time limit refuses it: A4 (first rating too late), A5 (change too late)
  409  it conflicts with what was recorded: A3 (a comment was left, so the rating is final),
       A10 (an auto post within the minute after a scanner's burst was discarded)
  404  the link was altered, names no request, or names another conversation (A9)

K11: a browser signed in as staff rates nothing: its posts are refused (403, logged, nothing
written) by the services (`by=request.user`), and its GET shows the page with the refusal's
words in place of the buttons (so the page's script posts nothing either). K12: the posts say
their source: the email link's, or the Messenger's when the Messenger's card (without its
script) sent them here (`next`).
"""

from functools import partial, wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from conversations.languages import default_language
from ratings import selectors
from ratings.alerts import alert_preference_set, alerts_off, unsubscribe_user
from ratings.answers import RatingRefused, rating_comment, rating_submit
from ratings.forms import CommentForm, RateForm
from ratings.links import INVALID_LINK, RatingLinkInvalid
from ratings.models import Source
from ratings.scale import REACTIONS, customer_words

# What the page after a post says it followed (`?done=`): a rating or change, a comment, a
# discard of a scanner's auto posts (A10).
DONE = ("rated", "commented", "discarded")


def customer_page(view):
    """Headers of every customer page: no referrer to other sites, no cache, no index. L2: the
    page speaks the language of the contact the link was sent to (never the browser's): the
    view turns it on (`_speak`) once it has read the link's request, which it reads anyway,
    so the language costs no query of its own; until then (a link that names no request,
    say) the default language."""

    @wraps(view)
    def wrapper(request, token, *args, **kwargs):
        with translation.override(default_language()):
            response = view(request, token, *args, **kwargs)
            language = translation.get_language()
        if not response.has_header("Location"):  # a redirect has no words to speak
            response["Content-Language"] = language
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        add_never_cache_headers(response)
        return response

    return wrapper


@customer_page
@require_http_methods(["GET", "HEAD", "POST"])
def rate(request, token):
    """GET: the request's state, read only. POST: record or change the reaction (A1, A2)."""
    if request.method == "POST":
        return _rate_post(request, token)
    done = request.GET.get("done", "")
    done = done if done in DONE else ""
    try:
        state = selectors.rating_link_state(token=token, done=done, staff=_staff(request))
    except RatingLinkInvalid:
        return _invalid_link(request)
    _speak(state)
    return _rate_page(request, token, state, done=done)


def _rate_post(request, token):
    """A post of the page's script (`auto`, A10) or a person's press on a reaction; an auto
    post that discards a scanner's rating leads to the page that says so."""
    return _answer(
        request,
        token,
        RateForm,
        lambda data: rating_submit(
            token=token,
            value=data["value"],
            auto=data["auto"],
            by=request.user,
            source=_source(data),
        ),
        done=lambda rating: "rated" if rating is not None else "discarded",
    )


@customer_page
@require_POST
def rate_comment(request, token):
    """POST: the optional comment and low-rating reasons (A1); after it the rating is final
    (A3)."""
    return _answer(
        request,
        token,
        CommentForm,
        lambda data: rating_comment(
            token=token,
            comment=data["comment"],
            reasons=data["reasons"],
            by=request.user,
            source=_source(data),
        ),
        done="commented",
    )


def _answer(request, token, form_class, write, *, done):
    """Parse the post, write it through the service, then 303 (POST/redirect/GET); a refusal
    is the page again with the refusal in words and its status (A7), nothing written. The
    refusal's words are put together once the page has read the request, in the contact's
    language (L2)."""
    form = form_class(request.POST, host=request.get_host(), secure=request.is_secure())
    if not form.is_valid():
        return _refused(request, token, form, lambda: form.message, 400)
    try:
        written = write(form.cleaned_data)
    except RatingLinkInvalid:
        return _invalid_link(request)
    except RatingRefused as refusal:
        words = partial(customer_words, refusal.rule)
        return _refused(request, token, form, words, refusal.status)
    except ValidationError as error:
        return _refused(request, token, form, partial(_joined, error), 400)
    return _done(token, form, done(written) if callable(done) else done)


# --- helpers -------------------------------------------------------------------------------------


def _rate_page(request, token, state, *, done="", error="", form=None, status=200):
    next_url = form.cleaned_data.get("next", "") if form is not None and form.is_bound else ""
    context = {
        "state": state,
        "token": token,
        "reactions": REACTIONS,
        "done": done,
        "error": error,
        "next": next_url,
        "comment_form": form if isinstance(form, CommentForm) else None,
    }
    return render(request, "ratings/rate.html", context, status=status)


def _staff(request) -> bool:
    """K11: the browser is signed in as staff (the rule and who counts: ratings.selectors)."""
    return selectors.staff_signed_in(request.user)


def _source(data) -> str:
    """K12: a post with `next` came from the Messenger's card (its no-script forms)."""
    return Source.MESSENGER if data.get("next") else Source.EMAIL


def _joined(error: ValidationError) -> str:
    return " ".join(error.messages)


def _speak(state) -> None:
    """L2: the rest of the page in the language of the contact the request was sent to."""
    translation.activate(state.language)


def _refused(request, token, form, words, status):
    """A7: the refusal in words (`words()`, in the contact's language), with the rating as
    recorded (nothing was written)."""
    try:
        state = selectors.rating_link_state(token=token, staff=_staff(request))
    except RatingLinkInvalid:
        return _invalid_link(request)
    _speak(state)
    return _rate_page(request, token, state, error=words(), form=form, status=status)


def _done(token, form, done):
    """POST/redirect/GET: back to the Messenger when it sent us, else to the rating page."""
    target = form.cleaned_data.get("next")
    response = redirect(target or f"{reverse('ratings:rate', args=[token])}?done={done}")
    response.status_code = 303  # See Other: the browser follows with a GET
    return response


def _invalid_link(request, message=INVALID_LINK):
    return render(request, "ratings/invalid_link.html", {"message": message}, status=404)


# --- N3: a staff user's rating alerts ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def alert_settings(request):
    """N3: the signed-in user's own switch for rating alerts."""
    if request.method == "POST":
        off = request.POST.get("alerts") == "off"
        alert_preference_set(user=request.user, off=off)
        messages.success(request, "Rating alerts turned off." if off else "Rating alerts on.")
        return redirect("ratings:alert_settings")
    context = {"alerts_off": alerts_off(request.user), "user_email": request.user.email}
    return render(request, "ratings/alert_settings.html", context)


@csrf_exempt  # the signed token is the credential (and RFC 8058's one-click POST has no form)
@customer_page
@require_http_methods(["GET", "HEAD", "POST"])
def alert_unsubscribe(request, token):
    """N3: an alert's unsubscribe link. A GET only asks (mail scanners open links); a POST,
    the button's or a mail client's one-click, turns the alerts off."""
    user = unsubscribe_user(token)
    if user is None:
        return _invalid_link(request, "This unsubscribe link is not valid.")
    done = request.method == "POST"
    if done:
        alert_preference_set(user=user, off=True)
    context = {"done": done, "email": user.email, "already": not done and alerts_off(user)}
    return render(request, "ratings/alert_unsubscribe.html", context)
