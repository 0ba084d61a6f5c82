"""`Idempotency-Key` on creates: the same key (per user and operation) creates once.

The key is written last, with the conversation it made, in the create's own transaction, under
a unique constraint. A second request with the key makes its conversation, then waits on the
key's row (PostgreSQL: the unique index; SQLite: the database's write lock) until the first
one commits; it then fails on the key, its whole transaction is rolled back (its conversation,
its emails to send: nothing of it is kept), and it answers with what the first created. If the
first one failed, nothing of it was kept and the second's key goes in. The key reused with
another body is refused (422), never answered with the first result. Writing the key last
costs a duplicate the work of a create it throws away, and every create no savepoint and no
second write of the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework import serializers

from api.errors import Conflict, Unprocessable
from api.models import IdempotencyKey
from conversations.models import Conversation

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def key_from(request) -> str | None:
    """The request's key, or None without one; a 400 for one that is not usable."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise serializers.ValidationError(
            {HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters."]}
        )
    return key


def fingerprint(data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class _KeyTaken(Exception):
    """The key's INSERT hit a committed row: another request with this key created first."""


def create_once(
    *, user, scope: str, key: str | None, body_fingerprint: str, create: Callable[[], Conversation]
) -> tuple[Conversation, bool]:
    """Run `create` once per key: (the conversation, whether it was made by an earlier
    request with this key)."""
    if key is None:
        return create(), False
    try:
        with transaction.atomic():
            conversation = create()
            try:
                IdempotencyKey.objects.create(
                    user=user,
                    scope=scope,
                    key=key,
                    fingerprint=body_fingerprint,
                    conversation=conversation,
                )
            except IntegrityError:
                raise _KeyTaken from None  # out of the block: the whole create rolls back
            return conversation, False
    except _KeyTaken:
        pass
    record = (
        IdempotencyKey.objects.select_related("conversation")
        .filter(user=user, scope=scope, key=key)
        .first()
    )
    if record is None or record.conversation is None:  # the holder's key went away: rare
        raise Conflict(
            "A request with this Idempotency-Key was in progress; try again.",
            code="idempotency_key_in_use",
        )
    if record.fingerprint != body_fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request body. "
            "Use a new key for a new request.",
            code="idempotency_key_reused",
        )
    return record.conversation, True
