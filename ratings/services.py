"""The writes of the rating spine, under the names DESIGN.md gives them.

Each use case has its home; this module gathers their entry points so that callers (and task
names queued by earlier releases, such as `ratings.services.rating_request_send`) keep
working:

- `ratings.decisions`: the close receiver, enqueueing, the D5 sweep, the send task (E1–E9);
- `ratings.delivery`: handing a survey over exactly once (D4), and `ratings.surveys`, what a
  survey is on each channel (D1, D3);
- `ratings.answers`: the customer's rating, change and comment (A1–A8), follow-up (R3);
- `ratings.configure`: the settings and the happiness target;
- `ratings.erasure`: a contact's personal data erased (G1–G3), retention (G4).
"""

from ratings.answers import (
    MAX_COMMENT_LENGTH,
    RatingRefused,
    rating_comment,
    rating_follow_up,
    rating_submit,
)
from ratings.configure import happiness_target_set, rating_settings_update
from ratings.decisions import (
    on_conversation_closed,
    rating_decisions_sweep,
    rating_request_enqueue,
    rating_request_send,
)
from ratings.delivery import DeliveryFailed
from ratings.erasure import contact_erase, retention_erase
from ratings.links import RatingLinkInvalid

__all__ = [
    "MAX_COMMENT_LENGTH",
    "DeliveryFailed",
    "RatingLinkInvalid",
    "RatingRefused",
    "contact_erase",
    "happiness_target_set",
    "on_conversation_closed",
    "rating_comment",
    "rating_decisions_sweep",
    "rating_follow_up",
    "rating_request_enqueue",
    "rating_request_send",
    "rating_settings_update",
    "rating_submit",
    "retention_erase",
]
