"""Background work of the conversations app, run by django-q2 workers."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from conversations.models import Conversation


def snooze_reminder_send(conversation_id: int) -> str:
    """Z2: tell the assignee that a snoozed conversation is back. A mail failure raises, so
    the queue tries again."""
    conversation = (
        Conversation.objects.select_related("assignee__user").filter(pk=conversation_id).first()
    )
    if conversation is None or conversation.assignee is None or not conversation.assignee.email:
        return "no one to remind"
    context = {
        "conversation": conversation,
        "teammate": conversation.assignee,
        "url": settings.SITE_URL
        + reverse("admin:conversations_conversation_change", args=[conversation.pk]),
    }
    message = EmailMultiAlternatives(
        subject=f"Back from snooze: {conversation}",
        body=render_to_string("conversations/email/snooze_reminder.txt", context),
        to=[conversation.assignee.email],
    )
    message.attach_alternative(
        render_to_string("conversations/email/snooze_reminder.html", context), "text/html"
    )
    message.send()
    return f"reminded {conversation.assignee.email}"
