"""B with L2: the bot's survey asks the bot's question in the contact's language, in the
email and on the rating page, and the thread's note stays in the staff's language."""

from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from conversations import services
from conversations.models import Channel, Part
from ratings.models import BOT_QUESTION, RatingRequest, RatingSettings
from ratings.tokens import rating_token
from tests.factories import ContactFactory, start_conversation
from tests.report_helpers import DAY

pytestmark = pytest.mark.django_db

BOT_WORDS = {
    "en": BOT_QUESTION,
    "fr": "Comment évaluez-vous l’aide apportée par notre assistant automatique ?",
    "de": "Wie bewerten Sie die Hilfe unseres Bots?",
    "es": "¿Cómo valoraría la ayuda que recibió de nuestro bot?",
    "pt": "Como avalia a ajuda que recebeu do nosso bot?",
}


def _bot_surveyed(capture, language: str, channel: str) -> RatingRequest:
    settings = RatingSettings.load()
    settings.ask_bot = True
    settings.save()
    contact = ContactFactory(language=language)
    with time_machine.travel(DAY - timedelta(hours=1), tick=False):
        conversation = start_conversation(
            contacts=[contact], started_by=contact, body="Help?", channel=channel
        )
        services.conversation_bot_message(conversation=conversation, body="b" * 260)
    mail.outbox.clear()
    with time_machine.travel(DAY, tick=False), capture(execute=True):
        services.conversation_bot_close(conversation=conversation)
    return RatingRequest.objects.get(conversation=conversation, kind="bot")


@pytest.mark.parametrize("language", sorted(BOT_WORDS))
def test_b_l2_the_bots_survey_asks_in_the_contacts_language(client, capture, language):
    request = _bot_surveyed(capture, language, Channel.EMAIL)
    (message,) = mail.outbox
    question = BOT_WORDS[language]
    assert question in message.body
    assert question in unescape(message.alternatives[0][0])
    token = rating_token(request_id=request.pk, conversation_id=request.conversation_id)
    with time_machine.travel(DAY + timedelta(minutes=5), tick=False):
        page = client.get(reverse("ratings:rate", args=[token])).content.decode()
    assert question in unescape(page)
    assert "our team?" not in page  # not the teammates' question


def test_b_l2_the_messenger_card_note_stays_in_the_staff_language(capture):
    request = _bot_surveyed(capture, "fr", Channel.MESSENGER)
    note = request.conversation.parts.filter(event=Part.Event.RATING_REQUESTED).get()
    assert note.body == f"Rating card sent: {BOT_QUESTION}"
