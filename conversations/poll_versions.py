"""H4: the Messenger poll's version kept in a shared cache, so that a poll that finds nothing
new (a 304) reads no database at all.

What is cached is the answer of the version query itself (`ratings.messenger.messenger_version`:
the count of the contact's conversations, their latest `updated_at`, their ratings' latest
change and comment), per contact, for the minute it was read in, with the generations it was
read under. So the ETag is the same whether it came from the cache or from the query, and the
cache never answers anything the query would not have answered a moment before:

    mv:e            the epoch: every entry at once (bumped after `migrate`: a data migration
                    writes with update(), and the entries outlive a deployment's restart)
    mv:p:<contact>  the contact's generation: a conversation added to or taken from their set
    mv:c:<id>       a conversation's generation: any write to its row, its contacts, its ratings
    mv:v:<contact>  the entry: the minute, the conversation ids, their generations, the answer

A generation is a random value. A write *bumps* it (sets a new random value) once its
transaction has committed (`transaction.on_commit`): a reader takes the generations before it
runs the query, so an entry stored under generations that a later commit's bump has replaced
is never used again, and no entry can be valid for data a commit has not reached. An entry is
used only while the epoch, the contact's generation and every one of its conversations'
generations are those it was read under, and only in the minute it was read in (W6's minute
turns the ETag anyway, and A4/A5's time limits and the settings' texts, which the query does
not read, show within the minute as without the cache). A missing key (never written, evicted,
the cache emptied) never matches, a failing cache is not used: both fall back to the query.
A stale 304 needs a write whose bump was lost (its process died between the commit and the
bump, or the cache failed just then), and lasts at most until the minute turns.

On only with `MESSENGER_VERSION_CACHE` naming a cache shared by every web process (settings:
the `shared` Redis cache when a Redis URL is set); off (the default, with no Redis), every
poll runs the query, as before.

Who bumps: the signals below (every `save()` and `delete()` of a conversation or a rating, a
contact deleted: the services, the admin and the tasks all write through them), and the writes
that bypass them call `bump` themselves: `conversation_start` (the contacts' links, the only
place they are written), and each queryset `update()` of a conversation (`conversation_event`,
erasure, retention), `messenger_links_revoke`. `tests/messenger/test_poll_versions.py` fails
when another such write appears without a bump.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import caches
from django.db import transaction

log = logging.getLogger(__name__)

EPOCH = "mv:e"
# A generation outlives any entry read under it; an entry dies with its minute.
GENERATION_SECONDS = 24 * 3600
ENTRY_SECONDS = 61
# Per process: the conversation ids of a contact's last entry, so that the generations are
# read in the same round trip as the entry. Only a hint: the entry says which ids it holds.
_HINTS: dict[int, tuple[int, ...]] = {}
HINTS_MAX = 10_000


class _RedisStore:
    """The cache's Redis through one redis-py client (and its pool) per process: Django's
    RedisCache makes a new client on every call, ~0.3 ms of CPU, more than the poll's own
    work. Values are text (generations, entries as JSON); a server that does not answer
    within `SOCKET_SECONDS` is a failing cache (the poll falls back to the query)."""

    SOCKET_SECONDS = 0.25
    # The entry checked where it is kept: one round trip, one short answer (redis-py parses
    # each value of an MGET in Python: ~0.3 ms for a contact's dozen keys). `_valid`, in Lua.
    HIT = """
    local raw = redis.call('GET', ARGV[1] .. 'mv:v:' .. ARGV[2])
    if not raw then return false end
    local ok, entry = pcall(cjson.decode, raw)
    if not ok or type(entry) ~= 'table' or entry.m ~= tonumber(ARGV[3])
        or type(entry.g) ~= 'table' or type(entry.ids) ~= 'table' or #entry.g ~= #entry.ids
    then return false end
    if redis.call('GET', ARGV[1] .. 'mv:e') ~= entry.e then return false end
    if redis.call('GET', ARGV[1] .. 'mv:p:' .. ARGV[2]) ~= entry.p then return false end
    for i, id in ipairs(entry.ids) do
        if redis.call('GET', ARGV[1] .. 'mv:c:' .. string.format('%d', id)) ~= entry.g[i]
        then return false end
    end
    return entry.v
    """

    def __init__(self, url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(
            url, socket_timeout=self.SOCKET_SECONDS, socket_connect_timeout=self.SOCKET_SECONDS
        )
        self.prefix = prefix
        # EVALSHA, and the script loaded again when the server does not have it (a restart, a
        # SCRIPT FLUSH): redis-py's Script.
        self.hit_script = self.client.register_script(self.HIT)

    def hit(self, contact_id: int, minute: int) -> str | None:
        answer = self.hit_script(keys=[], args=[self.prefix, contact_id, minute])
        return answer.decode() if answer is not None else None

    def get_many(self, keys: list[str]) -> dict[str, str]:
        values = self.client.mget([self.prefix + key for key in keys])
        return {
            key: value.decode()
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    def set_many(self, mapping: dict[str, str], timeout: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key, value in mapping.items():
            pipe.set(self.prefix + key, value, ex=timeout)
        pipe.execute()

    def set(self, key: str, value: str, timeout: int) -> None:
        self.client.set(self.prefix + key, value, ex=timeout)


class _DjangoStore:
    """Any other Django cache (the tests' local memory one)."""

    def __init__(self, cache):
        self.cache = cache

    def hit(self, contact_id: int, minute: int) -> str | None:
        return None  # `_lookup` checks the entry

    def get_many(self, keys: list[str]) -> dict[str, str]:
        return self.cache.get_many(keys)

    def set_many(self, mapping: dict[str, str], timeout: int) -> None:
        self.cache.set_many(mapping, timeout=timeout)

    def set(self, key: str, value: str, timeout: int) -> None:
        self.cache.set(key, value, timeout=timeout)


_REDIS: dict[tuple[str, str], _RedisStore] = {}
_REDIS_LOCK = threading.Lock()


def _cache():
    """The store of MESSENGER_VERSION_CACHE (a cache alias), or None when off."""
    alias = settings.MESSENGER_VERSION_CACHE
    if not alias:
        return None
    config = settings.CACHES[alias]
    if config["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return _DjangoStore(caches[alias])
    # The keys name the database too: two installations (staging, production) on one Redis
    # with the same KEY_PREFIX never read each other's entries (contact 5 is not contact 5).
    database = settings.DATABASES["default"]
    where = f"{database.get('HOST', '')}:{database.get('PORT', '')}/{database.get('NAME', '')}"
    digest = hashlib.blake2b(where.encode(), digest_size=4).hexdigest()
    name = (config["LOCATION"], f"{config.get('KEY_PREFIX', '')}:h4:{digest}:")
    store = _REDIS.get(name)
    if store is None:
        with _REDIS_LOCK:
            store = _REDIS.get(name) or _REDIS.setdefault(name, _RedisStore(*name))
    return store


def _contact_key(pk) -> str:
    return f"mv:p:{pk}"


def _conversation_key(pk) -> str:
    return f"mv:c:{pk}"


def _entry_key(pk) -> str:
    return f"mv:v:{pk}"


def _fresh() -> str:
    return os.urandom(8).hex()


# --- the writes' side ---------------------------------------------------------------------------


class _Bump:
    """One transaction's bumps: a callback of `on_commit` that sets every key it collected."""

    def __init__(self, keys: set[str]):
        self.keys = keys

    def __call__(self) -> None:
        if not settings.MESSENGER_VERSION_CACHE:
            return
        value = _fresh()
        try:
            cache = _cache()
            cache.set_many(dict.fromkeys(self.keys, value), timeout=GENERATION_SECONDS)
        except Exception:  # noqa: BLE001 - the write is committed; the entry dies with its minute
            log.warning("H4: the Messenger's poll versions could not be bumped", exc_info=True)


def bump(*, conversation_ids: Iterable = (), contact_ids: Iterable = (), everything=False) -> None:
    """H4: what these conversations (or contacts' sets of conversations) show changed; the
    cached versions naming them are dropped once the caller's transaction commits (at once
    outside a transaction). Nothing to do with the cache off."""
    if not settings.MESSENGER_VERSION_CACHE:
        return
    keys = {_conversation_key(pk) for pk in conversation_ids if pk is not None}
    keys |= {_contact_key(pk) for pk in contact_ids if pk is not None}
    if everything:
        keys.add(EPOCH)
    if not keys:
        return
    transaction.on_commit(_Bump(keys), robust=True)


def on_conversation_written(sender, instance, **kwargs) -> None:
    bump(conversation_ids=[instance.pk])


def on_rating_written(sender, instance, **kwargs) -> None:
    bump(conversation_ids=[instance.conversation_id])


def on_contact_deleted(sender, instance, **kwargs) -> None:
    bump(contact_ids=[instance.pk])


def on_migrated(sender, **kwargs) -> None:
    bump(everything=True)


# --- the poll's side ----------------------------------------------------------------------------


def cached_version(
    *, contact_id: int, minute: int, read: Callable[[bool], tuple[tuple[int, ...] | None, str]]
) -> str:
    """The contact's version answer for this minute: from the cache when an entry is valid,
    else `read(with_ids)` (the query: the conversation ids, when asked and the database can
    give them, and the answer), stored for the next poll."""
    if not settings.MESSENGER_VERSION_CACHE:
        return read(False)[1]
    try:
        cache = _cache()
        answer = cache.hit(contact_id, minute)
        if answer is not None:
            return answer
        answer, generations, known = _lookup(cache, contact_id, minute)
    except Exception:  # noqa: BLE001 - the cache is a shortcut, the query the truth
        log.warning("H4: the Messenger's poll version cache failed", exc_info=True)
        return read(False)[1]
    if answer is not None:
        return answer
    ids, answer = read(True)
    if ids is not None:
        try:
            _store(cache, contact_id, minute, generations, known, ids, answer)
        except Exception:  # noqa: BLE001
            log.warning("H4: the Messenger's poll version cache failed", exc_info=True)
    return answer


def _entry(text) -> dict | None:
    try:
        entry = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("ids"), list):
        return None
    entry["ids"] = tuple(entry["ids"])
    return entry


def _valid(entry, got: dict, contact_id: int, minute: int) -> bool:
    return (
        entry is not None
        and entry.get("m") == minute
        and entry.get("g") is not None
        and entry.get("e") == got.get(EPOCH)
        and entry.get("p") == got.get(_contact_key(contact_id))
        and all(
            got.get(_conversation_key(pk)) == generation
            for pk, generation in zip(entry["ids"], entry["g"], strict=True)
        )
    )


def _remember(contact_id: int, ids: tuple[int, ...]) -> None:
    if _HINTS.get(contact_id) != ids:
        if len(_HINTS) >= HINTS_MAX:
            _HINTS.clear()
        _HINTS[contact_id] = ids


def _lookup(cache, contact_id: int, minute: int):
    """(the answer, None, None) from a valid entry; else (None, the generations to read the
    query under, the conversation ids they cover), every one of them set in the cache before
    the query runs (setting a missing generation is a bump: never wrong)."""
    hint = _HINTS.get(contact_id, ())
    got = cache.get_many(
        [EPOCH, _contact_key(contact_id), _entry_key(contact_id)]
        + [_conversation_key(pk) for pk in hint]
    )
    entry = _entry(got.get(_entry_key(contact_id)))
    known = tuple(entry["ids"]) if entry is not None else hint
    if known != hint:  # another process stored it, or the set changed: its ids' generations
        got.update(cache.get_many([_conversation_key(pk) for pk in known if pk not in hint]))
    if _valid(entry, got, contact_id, minute):
        _remember(contact_id, known)
        return entry["v"], None, None
    keys = [EPOCH, _contact_key(contact_id)] + [_conversation_key(pk) for pk in known]
    missing = {key: _fresh() for key in keys if got.get(key) is None}
    if missing:
        cache.set_many(missing, timeout=GENERATION_SECONDS)
        got.update(missing)
    return None, {key: got[key] for key in keys}, known


def _store(cache, contact_id, minute, generations, known, ids, answer) -> None:
    """The entry for the next poll. A conversation the generations were not read for (new in
    the contact's set since the last entry) makes it an entry that is never valid but names
    the ids, so the next poll reads their generations first."""
    ids = tuple(sorted(ids))
    covered = set(known).issuperset(ids)
    entry = {
        "m": minute,
        "e": generations[EPOCH],
        "p": generations[_contact_key(contact_id)],
        "ids": ids,
        "g": [generations[_conversation_key(pk)] for pk in ids] if covered else None,
        "v": answer,
    }
    cache.set(_entry_key(contact_id), json.dumps(entry), timeout=ENTRY_SECONDS)
    _remember(contact_id, ids)
