"""Signals the ratings app sends. It knows nothing of who listens."""

from django.dispatch import Signal

# Sent inside the transaction that accepted a rating, a change or a comment, with `event`
# (the RatingEvent row, A8) and `rating`. A receiver's writes commit or roll back with the
# answer, so an outbox row written here is never lost nor left behind by a refused answer.
rating_event_recorded = Signal()
