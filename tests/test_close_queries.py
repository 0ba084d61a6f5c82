"""conversation_close reads the running figures, never the thread: its number of queries does
not grow with the number of parts (E2–E5 are decided from the ConversationClose row)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import services
from conversations.models import Part
from tests.factories import start_conversation

# savepoint, lock the row (with its contacts' roles, E1, E5), the close row, the
# conversation, the event, release the savepoint. A change that adds a query fails here.
CLOSE_QUERIES = 6


def _conversation_with_parts(count, contact, teammate):
    """A conversation of `count` parts, every one written by the services."""
    conversation = start_conversation(contacts=[contact], started_by=contact, body="Help me")
    for number in range(1, count - 1):
        if number % 2:
            services.conversation_reply(
                conversation=conversation, author=teammate, body=f"reply {number}"
            )
        else:
            services.conversation_reply(
                conversation=conversation, author=contact, body=f"reply {number}"
            )
    services.conversation_note(conversation=conversation, author=teammate, body="a note")
    assert conversation.parts.count() == count
    return conversation


def _close_queries(conversation, teammate):
    with CaptureQueriesContext(connection) as queries:
        services.conversation_close(conversation=conversation, by=teammate)
    return len(queries)


def test_close_queries_do_not_depend_on_the_thread_length(
    contact, teammate, django_assert_num_queries
):
    short = _conversation_with_parts(10, contact, teammate)
    long = _conversation_with_parts(2_000, contact, teammate)

    short_count = _close_queries(short, teammate)
    long_count = _close_queries(long, teammate)
    print(f"\nconversation_close queries: 10 parts: {short_count}, 2000 parts: {long_count}")

    assert long_count == short_count
    assert short_count == CLOSE_QUERIES
    # The long one's facts are right although the thread was not read.
    close = long.closes.get()
    assert close.reply_characters == len("Help me") + sum(
        len(f"reply {number}") for number in range(1, 1_999)
    )
    assert close.last_teammate_replier == teammate
    assert Part.objects.filter(conversation=long).count() == 2_001  # with the close event

    services.conversation_reopen(conversation=long, by=teammate)
    with django_assert_num_queries(CLOSE_QUERIES):
        services.conversation_close(conversation=long, by=teammate)
