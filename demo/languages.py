"""L2 in the demo: one French customer whose email conversation is closed as `make run`
starts, so that the survey the worker sends (in the admin's *Sent mail*) and its rating page
are in French. Made through the services, at the real time: the close is decided and the
survey delivered as any live close is."""

from __future__ import annotations

from conversations import services
from conversations.models import Channel, Contact, Origin, Teammate

FRENCH_EMAIL = "camille.dubois@example.org"  # a reserved example domain (RFC 2606)
FRENCH_SUBJECT = "Ma commande n’est pas arrivée"
QUESTION = (
    "Bonjour, j’ai passé une commande il y a dix jours (numéro 48213) et je n’ai toujours "
    "rien reçu. Le suivi indique « en transit » depuis une semaine. Pouvez-vous vérifier "
    "ce qui se passe ?"
)
ANSWER = (
    "Bonjour Camille, merci pour votre patience. Le colis était bloqué au centre de tri de "
    "Lyon : le transporteur l’a remis en circulation ce matin et il vous sera livré demain "
    "avant midi. Je vous envoie aussi un bon de réduction de 10 % pour le retard."
)
THANKS = "Parfait, merci beaucoup pour votre aide rapide !"


def french_survey() -> Contact | None:
    """The French contact and its closed email conversation (its survey queued by the close);
    nothing when the contact exists already or there is no teammate to close it."""
    teammate = Teammate.objects.order_by("pk").first()
    if teammate is None or Contact.objects.filter(email=FRENCH_EMAIL).exists():
        return None
    contact = services.contact_create(
        role=Contact.Role.USER, name="Camille Dubois", email=FRENCH_EMAIL, language="fr"
    )
    conversation = services.conversation_start(
        channel=Channel.EMAIL,
        origin=Origin.CUSTOMER,
        contacts=[contact],
        started_by=contact,
        body=QUESTION,
        subject=FRENCH_SUBJECT,
    )
    services.conversation_reply(conversation=conversation, author=teammate, body=ANSWER)
    services.conversation_reply(conversation=conversation, author=contact, body=THANKS)
    services.conversation_close(conversation=conversation, by=teammate)
    return contact
