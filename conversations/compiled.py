"""H6: a hot read compiled to SQL once per process, then run with each call's key.

The ORM builds and compiles a queryset on every call: for the rating page's one joined read
(the request, its close, conversation, workflow, teammate, rating and contact) that is a
third of the page's Python time, for a statement that is the same every time but for the
primary key it names. `CompiledRead(build)` calls `build(key)` once per database alias with
a marker key, compiles it, and remembers the SQL, the position of the key among its
parameters, and how the ORM turns its rows into objects (the compiler's select and
klass_info); each call then runs that SQL with its own key and builds the objects through
the ORM's own `ModelIterable`, so what comes back (instances, `select_related` relations,
annotations, deferred fields) is what the queryset itself would return.

For a queryset whose SQL depends only on `key`: no clock, no setting, no language in it
(a queryset that changes with those would be run with its first call's values). Built on
Django's compiler, pinned in pyproject.toml; `tests/test_compiled_read.py` holds it to the
plain queryset's answers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextlib import contextmanager
from threading import Lock
from typing import Generic, TypeVar

from django.db import connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

T = TypeVar("T", bound=Model)

# The key the read is compiled with: a number no row has, found once among the parameters.
MARKER = -7_346_112_901_337


class _Compiled:
    def __init__(self, queryset: QuerySet):
        self.db = queryset.db
        self.model = queryset.model
        self.locks = bool(queryset.query.select_for_update)
        self.compiler = queryset.query.get_compiler(using=self.db)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.slots = [index for index, value in enumerate(self.params) if value == MARKER]
        if not self.slots:
            raise ValueError("CompiledRead: the queryset does not use its key as a parameter")

    def run(self, key) -> list:
        connection = connections[self.db]
        if self.locks and not transaction.get_connection(self.db).in_atomic_block:
            raise transaction.TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(self.params)
        for index in self.slots:
            params[index] = key
        compiler = copy.copy(self.compiler)
        compiler.connection = connection  # this thread's connection, not the compiling one's
        frozen = (self.sql, tuple(params))
        compiler.as_sql = lambda *args, **kwargs: frozen
        with _prepared(connection):
            return list(ModelIterable(_Rows(self.model, self.db, compiler)))


@contextmanager
def _prepared(connection):
    """H5: on PostgreSQL with server-side parameters, the read is prepared on its first run
    on a connection (psycopg's `prepare_threshold` 0 for the call), so PostgreSQL plans it
    once per connection. Nothing else is prepared (the threshold is None otherwise): a
    generic plan of a report's period query cannot use a partial index (its values are
    parameters) and guesses the period's size."""
    if not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.prepare_threshold
    raw.prepare_threshold = 0
    try:
        yield
    finally:
        raw.prepare_threshold = before


class _Rows:
    """What `ModelIterable` reads of a queryset, around an already compiled compiler."""

    _known_related_objects: dict = {}

    def __init__(self, model, db, compiler):
        self.model = model
        self.db = db
        self.query = self
        self._compiler = compiler

    def get_compiler(self, using=None):
        return self._compiler


class CompiledRead(Generic[T]):
    """`build(key)` -> the queryset of the objects a key names, compiled on first use."""

    def __init__(self, build: Callable[[object], QuerySet[T]]):
        self.build = build
        self._compiled: _Compiled | None = None
        self._lock = Lock()

    def _get(self) -> _Compiled:
        compiled = self._compiled
        if compiled is None:
            with self._lock:
                if self._compiled is None:
                    self._compiled = _Compiled(self.build(MARKER))
                compiled = self._compiled
        return compiled

    def all(self, key) -> list[T]:
        return self._get().run(key)

    def first(self, key) -> T | None:
        found = self.all(key)
        return found[0] if found else None
