"""Throttles of the customer API: a rating token may be used a few times a minute (nobody
clicks faster), and one address may not spray guessed tokens."""

import hashlib

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle


class RatingTokenThrottle(SimpleRateThrottle):
    """Keyed on the token in the address (hashed: the cache never holds a usable link)."""

    scope = "rating_token"

    def get_cache_key(self, request, view):
        token = str(view.kwargs.get("token", ""))
        ident = hashlib.sha256(token.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CustomerAddressThrottle(AnonRateThrottle):
    scope = "customer_address"
