"""Signals the mail app sends. It knows nothing of who listens."""

from django.dispatch import Signal

# A delivery status notification came back, with `message_ids` (of the messages it reports
# on) and `reason` (its first lines): receivers record it on what they sent (M11).
mail_bounced = Signal()
