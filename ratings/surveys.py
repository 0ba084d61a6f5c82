"""D1, D3: what a survey is on each channel — an email with five reaction links, a rating
card in the Messenger, or the configured rating app's card instead of it. How it is handed
over exactly once is `ratings.delivery`'s part."""

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from conversations.languages import contact_language, default_language
from conversations.models import Channel, Part
from conversations.services import conversation_event
from mail.addresses import reply_address, sender
from mail.threading import message_domain, thread_headers
from ratings.models import RatingRequest, RatingSettings
from ratings.scale import REACTIONS
from ratings.tokens import rating_token


def rating_url(request: RatingRequest, value: int | None = None) -> str:
    """The absolute address of a reaction link (on SITE_URL: mail has no request at hand)."""
    token = rating_token(
        request_id=request.pk, conversation_id=request.conversation_id, value=value
    )
    return django_settings.SITE_URL + reverse("ratings:rate", args=[token])


def survey_send(request: RatingRequest, *, connection=None, settings=None) -> str:
    """Send the survey for `request` on its conversation's channel and note it in the thread.
    Raises when the mail server refuses; the caller records the failure.

    D4: the note is written first and the hand-over to the mail server is the last step, so
    the caller's commit follows it at once. With `connection` (an opened mail backend) the
    caller closes the SMTP session after its commit, which keeps even the QUIT out of the
    window between the hand-over and the commit. `settings`: loaded once for a batch."""
    settings = settings or RatingSettings.load()
    note = survey_note(request, settings)
    if request.channel == Channel.EMAIL:
        message = survey_email(request, settings)
        note_delivered(request, note)
        if connection is not None:
            connection.open()
            message.connection = connection
        message.send()
        return note
    note_delivered(request, note)
    return note


def survey_note(request: RatingRequest, settings: RatingSettings) -> str:
    """The thread's words for a survey sent (D1, D3); the thread is the staff's: in the
    default language."""
    if request.channel == Channel.EMAIL:
        return f"Rating survey emailed to {request.contact.email}"
    if request.app_id:
        return f"Rating app card sent: {request.app.name}"
    return f"Rating card sent: {settings.question_in(default_language(), request.kind)}"


def note_delivered(request: RatingRequest, note: str):
    """The thread's record that the survey went out (D1), with the survey email's Message-ID:
    the customer's reply to the survey joins the conversation (M9) and later messages name it
    in their References (M3)."""
    return conversation_event(
        conversation=request.conversation,
        event=Part.Event.RATING_REQUESTED,
        body=note,
        message_id=survey_message_id(request) if request.channel == Channel.EMAIL else "",
    )


def survey_email(request: RatingRequest, settings: RatingSettings) -> EmailMultiAlternatives:
    """L2: in the contact's language (subject, text and HTML); the thread's note about it is
    the staff's, in the default language."""
    language = contact_language(request.contact)
    with translation.override(language):
        return _survey_email(request, settings, language)


def _survey_email(request: RatingRequest, settings: RatingSettings, language: str):
    conversation = request.conversation
    # A header is one line: a subject typed with line breaks still makes a deliverable email.
    subject = " ".join(conversation.subject.split()) or gettext("your conversation with us")
    context = {
        "language": language,
        "question": settings.question_in(language, request.kind),
        "teammate": request.teammate,
        "contact": request.contact,
        "subject": subject,
        "reactions": [(reaction, rating_url(request, reaction.value)) for reaction in REACTIONS],
    }
    message = EmailMultiAlternatives(
        # The conversation's subject, so that every mail client (Gmail compares subjects too)
        # shows the survey in the conversation's thread (M3); the question is in the body.
        subject=f"Re: {subject}",
        body=render_to_string("ratings/email/survey.txt", context),
        from_email=sender(),
        to=[request.contact.email],
        # A text reply to the survey joins the conversation, as any reply does (M9).
        reply_to=[reply_address(conversation.pk)],
        headers={
            # One Message-ID per request: should a crash ever fall between the mail server's
            # acceptance and the commit, the survey sent again is the same message, which
            # mail clients show once.
            "Message-ID": survey_message_id(request),
            # Sent by the bot: auto-responders (RFC 3834) do not answer it.
            "Auto-Submitted": "auto-generated",
            "Content-Language": language,  # L2: mail clients read the message's language
            **thread_headers(conversation.pk),
        },
    )
    message.attach_alternative(render_to_string("ratings/email/survey.html", context), "text/html")
    return message


def survey_message_id(request: RatingRequest) -> str:
    return f"<rating-request-{request.pk}.{request.conversation_id}@{message_domain()}>"
