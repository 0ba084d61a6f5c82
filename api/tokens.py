"""K1, K2: the API's tokens, stored as a hash only and shown once.

A key is `csat_` and 64 hex characters (32 random bytes); the database keeps its SHA-512
digest (django-rest-knox's `hash_token`) and its first 15 characters (knox's `token_key`, the
prefix that finds the row and names the token in the admin), never the key. A presented key is
hashed and compared with `hmac.compare_digest`. Keys made before K1 (DRF's 40 hex characters)
were moved here by `api/migrations/0003_hashed_tokens` and keep working: same lookup, same
hash.

The rules live here; the API's authentication, the admin and `manage.py api_token` call them.
"""

import re
from datetime import timedelta
from hmac import compare_digest

from django.db import transaction
from django.db.models import Q
from knox.crypto import create_token_string, hash_token
from knox.settings import CONSTANTS

from api.models import ApiToken
from conversations import clock

# What every key made here starts with: a leaked one is recognisable (secret scanners, logs).
KEY_PREFIX = "csat_"
# K1: the last-used time is written on a token's first call, then at most once a minute, so a
# busy integration's calls do not each write a row.
LAST_USED_EVERY = timedelta(minutes=1)
# K2: `--expires-days` and the admin's field take a whole number of days in this range.
MAX_EXPIRES_DAYS = 3650

# What a key can look like: ours (`csat_` and hex), DRF's before K1 (hex). Anything else (a NUL,
# which PostgreSQL cannot compare; odd characters; a 10 kB string) is refused unread.
KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,128}")

# K2: said wherever a key is shown (the command, the admin's message).
SHOWN_ONCE = "Copy it now: it is shown this once, only its hash is kept."
EXPIRES_DAYS_ERROR = f"The expiry must be a whole number of days from 1 to {MAX_EXPIRES_DAYS}."


class TokenRefused(Exception):
    """A key that does not sign in (K1): `message` is what the 401 says, `code` its code."""

    def __init__(self, message: str, code: str = "authentication_failed"):
        super().__init__(message)
        self.message = message
        self.code = code


def expires_days_valid(days) -> bool:
    return days is None or (
        isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_EXPIRES_DAYS
    )


def _expiry(days: int | None):
    if not expires_days_valid(days):
        raise ValueError(EXPIRES_DAYS_ERROR)
    return None if days is None else clock.now() + timedelta(days=days)


def token_prepare(token: ApiToken, *, expires_days: int | None = None) -> str:
    """Give an unsaved token a new key (K1: its digest and prefix only); return the key, which
    the caller shows once (K2) and nothing keeps."""
    key = KEY_PREFIX + create_token_string()
    token.digest = hash_token(key)
    token.token_key = key[: CONSTANTS.TOKEN_KEY_LENGTH]
    token.created = clock.now()
    token.expiry = _expiry(expires_days)
    token.last_used_at = None
    return key


def token_issue(*, user, expires_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user` (K2): the row and its key."""
    token = ApiToken(user=user)
    key = token_prepare(token, expires_days=expires_days)
    token.save(force_insert=True)
    return token, key


def token_rotate(*, user, expires_days: int | None = None) -> tuple[ApiToken, str]:
    """K2: `user`'s tokens replaced by one new one; the old keys stop working at once."""
    _expiry(expires_days)  # refused before anything is deleted
    with transaction.atomic():
        ApiToken.objects.filter(user=user).delete()
        return token_issue(user=user, expires_days=expires_days)


def token_replace(token: ApiToken) -> str:
    """K2 (the admin's rotate): the same row (user, expiry) with a new key; the old one stops
    working. Returns the new key."""
    expiry = token.expiry
    key = token_prepare(token)
    token.expiry = expiry
    token.save(update_fields=["digest", "token_key", "created", "expiry", "last_used_at"])
    return key


def token_check(key: str) -> ApiToken:
    """K1: the token `key` names, read with its user and the user's teammate profile in one
    query (H3), or `TokenRefused`. Its last-used time is written if a minute has gone by."""
    if not KEY_SHAPE.fullmatch(key):
        raise TokenRefused("Invalid token.")
    digest = hash_token(key)
    candidates = ApiToken.objects.select_related("user", "user__teammate").filter(
        token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]
    )
    # Rows sharing a prefix are compared one by one, each in constant time.
    token = next((t for t in candidates if compare_digest(digest, t.digest)), None)
    if token is None:
        raise TokenRefused("Invalid token.")
    now = clock.now()
    if token.expiry is not None and now >= token.expiry:
        raise TokenRefused("Token expired.", code="token_expired")
    if not token.user.is_active:
        raise TokenRefused("User inactive or deleted.")
    _touch(token, now)
    return token


def _touch(token: ApiToken, now) -> None:
    """K1: one UPDATE on the token's first call and then at most once a minute; none between.
    The condition in the UPDATE keeps processes racing on one token from moving it back."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
    ).update(last_used_at=now)
    token.last_used_at = now


def user_token_prefixes(user) -> list[str]:
    """The prefixes of `user`'s tokens, which name them (K2: never their keys)."""
    return list(ApiToken.objects.filter(user=user).values_list("token_key", flat=True))
