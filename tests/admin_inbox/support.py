"""Constants and helpers shared by the modules of this package."""

from django.urls import reverse

PASSWORD = "a-long-test-password-42"


def change_url(conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


def act_url(conversation, action: str) -> str:
    return reverse("admin:conversations_conversation_act", args=[conversation.pk, action])


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]
