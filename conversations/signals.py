"""Signals the conversations app sends. It knows nothing of who listens."""

from django.dispatch import Signal

# Sent once the close is committed, with `conversation`, `close` (the ConversationClose row)
# and `quiet` (whether the teammate closed it without telling the customer, E8).
conversation_closed = Signal()

# Sent inside the transaction that adds a reply or a bot message (parts the customer sees),
# with `part`: a receiver's writes commit or roll back with the part.
part_added = Signal()
