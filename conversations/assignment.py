"""Who works on a conversation: assign it to a teammate, or leave it unassigned (I1's *Mine*
and *Unassigned*). `conversations.services` offers it under its name."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from conversations import clock
from conversations.models import Conversation, Teammate


@transaction.atomic
def conversation_assign(
    *, conversation: Conversation, to: Teammate | None, by: Teammate
) -> Conversation:
    """Assign `conversation` to `to` (None: unassigned). Any state: a closed conversation
    keeps its assignee for when it reopens."""
    if not isinstance(by, Teammate) or by.pk is None:
        raise ValidationError("Only a teammate can assign a conversation.")
    if to is not None and (not isinstance(to, Teammate) or to.pk is None):
        raise ValidationError("A conversation is assigned to a teammate.")
    if to is not None and not to.user.is_active:
        raise ValidationError(f"{to.name} is deactivated: assign it to someone else.")
    if conversation.pk is None:
        raise ValidationError("This conversation has not been saved.")
    locked = Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    if locked is None:
        raise ValidationError(f"Conversation #{conversation.pk} does not exist.")
    if locked.assignee_id != (to.pk if to else None):
        locked.assignee = to
        locked.updated_at = clock.now()
        locked.save(update_fields=["assignee", "updated_at"])
    conversation.assignee, conversation.updated_at = locked.assignee, locked.updated_at
    return conversation
