"""The API's token: `Authorization: Token <key>` (`manage.py api_token <username>`)."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from api import tokens


class TeammateTokenAuthentication(TokenAuthentication):
    """DRF's header parsing (`Token <key>`, its errors for a malformed header), the key checked
    by `api.tokens.token_check` (K1: its hash, in constant time; expiry; last used), the token
    read with its user and the user's teammate profile in one query: every write in a
    conversation names the teammate who acted (`conversations.selectors.teammate_of`), so each
    call needs the profile anyway.

    Not knox's `TokenAuthentication`: it reads the user's other tokens on every call (a query)
    and deletes expired ones (a write on the hot path), has no teammate in its read, says
    "Invalid token." for an expired one, and answers a non-UTF-8 header with a 500."""

    def authenticate_credentials(self, key):
        try:
            token = tokens.token_check(key)
        except tokens.TokenRefused as refusal:
            raise exceptions.AuthenticationFailed(refusal.message, code=refusal.code) from None
        return (token.user, token)
