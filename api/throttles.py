"""Throttles of the customer API: a rating token may be used a few times a minute (nobody
clicks faster), and one address may not spray guessed tokens.

K9: they count in the cache every web process and machine shares (`SHARED_CACHE`, the
`CACHES["shared"]` of the settings: Redis when `REDIS_URL` is set, else the database's
`csat_shared_cache` table, made by `api/migrations/0005_shared_cache.py`), not in each
process's memory: three gunicorn workers give one token its 30 a minute, not 90. A request's
count is read and written under a lock held across processes (`_counting`), so concurrent
requests in several processes are counted one after another: exactly the limit passes.
"""

import hashlib
from contextlib import contextmanager

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction
from django.utils.connection import ConnectionProxy
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

SHARED_CACHE = "shared"
# How long a request waits for another process's count of the same key (a count takes
# milliseconds); a lock left by a killed process expires after LOCK_SECONDS.
LOCK_SECONDS = 5


@contextmanager
def _counting(key: str, timeout: int):
    """K9: hold the lock of one throttle key for the read-modify-write of its history (DRF's
    `get` then `set`), across processes and machines:

    - the database cache: a transaction that locks the key's row (`SELECT … FOR UPDATE`,
      the row made first by `add` when missing; on SQLite, whose transactions take the write
      lock as they begin, `transaction_mode` IMMEDIATE in the settings, the transaction is the
      lock); the history's write is in the same transaction;
    - Redis: a lock of redis-py (`SET NX` with an expiry, released by its token) on a key
      beside the history's;
    - any other backend (a process's memory): nothing to share, no lock."""
    cache = caches[SHARED_CACHE]
    if isinstance(cache, DatabaseCache):
        database = router.db_for_write(cache.cache_model_class)
        connection = connections[database]
        with transaction.atomic(using=database):
            locks_rows = connection.features.has_select_for_update
            if locks_rows and not _row_locked(cache, connection, key):
                cache.add(key, [], timeout)
                _row_locked(cache, connection, key)
            yield
    elif isinstance(cache, RedisCache):
        made = cache.make_and_validate_key(key)
        client = cache._cache.get_client(made, write=True)
        with client.lock(f"{made}:lock", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
            yield
    else:
        yield


def _row_locked(cache: DatabaseCache, connection, key: str) -> bool:
    table = connection.ops.quote_name(cache._table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE",  # noqa: S608
            [cache.make_and_validate_key(key)],
        )
        return cursor.fetchone() is not None


class SharedRateThrottle(SimpleRateThrottle):
    """K9: DRF's sliding-window throttle (the history of the scope's hits per key), kept in
    the shared cache and counted under the key's lock."""

    cache = ConnectionProxy(caches, SHARED_CACHE)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        with _counting(key, self.duration):
            return super().allow_request(request, view)


class RatingTokenThrottle(SharedRateThrottle):
    """Keyed on the token in the address (hashed: the cache never holds a usable link)."""

    scope = "rating_token"

    def get_cache_key(self, request, view):
        token = str(view.kwargs.get("token", ""))
        ident = hashlib.sha256(token.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CustomerAddressThrottle(SharedRateThrottle, AnonRateThrottle):
    scope = "customer_address"
