"""Constants and helpers shared by the modules of this package."""

from django.urls import reverse

PASSWORD = "a-long-test-password-42"


def change_url(conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


def act_url(conversation, action: str) -> str:
    return reverse("admin:conversations_conversation_act", args=[conversation.pk, action])


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the inbox list (I1–I3) -------------------------------------------------------------------

CHANGELIST = reverse("admin:conversations_conversation_changelist")
LONG_REPLY = "x" * 251  # E3: more than 250 visible characters, so a close can send a survey


def listed(response) -> list[int]:
    """The ids of the conversations on the list page, in page order."""
    assert response.status_code == 200, response.status_code
    return [conversation.pk for conversation in response.context["cl"].result_list]


def tab_counts_shown(response) -> dict[str, int]:
    return {tab["key"]: tab["count"] for tab in response.context["inbox_tabs"]}


def current_tab(response) -> list[str]:
    return [tab["key"] for tab in response.context["inbox_tabs"] if tab["current"]]


def post_action(client, action: str, conversations, *, query: str = "view=all", **fields):
    """The admin's action form as the list page posts it: the action, the ticked rows and the
    index of the action bar; to the list with `query` (the tab the rows were ticked in)."""
    data = {
        "action": action,
        "_selected_action": [conversation.pk for conversation in conversations],
        "index": 0,
        **fields,
    }
    return client.post(f"{CHANGELIST}?{query}" if query else CHANGELIST, data, follow=True)


def rating_of(conversation, value: int, capture):
    """A customer's rating of `conversation` (closed already, its survey sent): through
    `ratings.services.rating_submit` with the survey's token, as the rating page does."""
    from ratings.models import RatingRequest
    from ratings.services import rating_submit
    from ratings.tokens import rating_token

    request = RatingRequest.objects.get(conversation=conversation)
    token = rating_token(request_id=request.pk, conversation_id=request.conversation_id)
    with capture(execute=True):
        return rating_submit(token=token, value=value)
