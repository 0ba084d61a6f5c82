"""D1, D3: how a survey reaches the customer — an email with five reaction links, a rating
card in the Messenger, or the configured rating app's card instead of it."""

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from conversations.models import Channel, Part
from conversations.services import conversation_event
from ratings.models import RatingRequest, RatingSettings
from ratings.scale import REACTIONS
from ratings.tokens import rating_token


def rating_url(request: RatingRequest, value: int | None = None) -> str:
    """The absolute address of a reaction link (on SITE_URL: mail has no request at hand)."""
    token = rating_token(
        request_id=request.pk, conversation_id=request.conversation_id, value=value
    )
    return django_settings.SITE_URL + reverse("ratings:rate", args=[token])


def deliver(request: RatingRequest) -> str:
    """Send the survey for `request` on its conversation's channel and note it in the thread.
    Raises when the mail server refuses; the caller records the failure."""
    settings = RatingSettings.load()
    if request.channel == Channel.EMAIL:
        survey_email(request, settings).send()
        note = f"Rating survey emailed to {request.contact.email}"
    elif request.app_id:
        note = f"Rating app card sent: {request.app.name}"
    else:
        note = f"Rating card sent: {settings.survey_question}"
    conversation_event(
        conversation=request.conversation, event=Part.Event.RATING_REQUESTED, body=note
    )
    return note


def survey_email(request: RatingRequest, settings: RatingSettings) -> EmailMultiAlternatives:
    conversation = request.conversation
    # A header is one line: a subject typed with line breaks still makes a deliverable email.
    subject = " ".join(conversation.subject.split()) or "your conversation with us"
    context = {
        "question": settings.survey_question,
        "teammate": request.teammate,
        "contact": request.contact,
        "subject": subject,
        "reactions": [(reaction, rating_url(request, reaction.value)) for reaction in REACTIONS],
    }
    message = EmailMultiAlternatives(
        subject=f"How did we do? Re: {subject}",
        body=render_to_string("ratings/email/survey.txt", context),
        to=[request.contact.email],
    )
    message.attach_alternative(render_to_string("ratings/email/survey.html", context), "text/html")
    return message
