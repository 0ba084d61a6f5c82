"""The daily figures the reports add up (R1, R2): counts per local day and teammate, moved on
in the same transaction as each request, rating, change and reason, so they are exactly the
figures a scan of the requests and ratings would give, at any size.

- a request counts on the day it was sent (`requests`), and once answered (`answered`);
- a rating counts on the day it was first given, with its current value (`v1`–`v5`): a change
  moves it from one value to the other on that day;
- a reason counts on the day of its rating;
- a rating discarded as a mail scanner's (A10) is taken out again (`answered`, its value), and
  a row left all zeros is removed, as a recount would not make it.

Days are local days of TIME_ZONE, as report periods are. Each change is an upsert with
increments (`INSERT … ON CONFLICT … DO UPDATE`, the same SQL on PostgreSQL and SQLite), so two
writers never lose a count; rows are touched in a fixed order, so they never deadlock.
`figures_rebuild` recomputes everything from the requests and ratings, by their
`teammate_key`, which a deleted teammate's requests and ratings keep (G5). Each row is of one
kind of request (B): the bot's figures are kept apart from the teammates'.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from ratings.models import VALUE_COLUMNS, DailyFigures, DailyReasons
from ratings.rules import TEAMMATE

FIGURE_COLUMNS = ("requests", "answered", *VALUE_COLUMNS)


def local_day(moment: datetime) -> date:
    return timezone.localdate(moment)


def _upsert(table: str, rows: list[tuple[dict, dict]], columns: tuple[str, ...]) -> None:
    """Add each row's `counts` to the row of its `keys`, creating it (other columns 0) when
    missing: one statement for all the rows (they have the same keys, none twice), which
    touches them in the order given."""
    if not rows:
        return
    q = connection.ops.quote_name
    names = [*rows[0][0], *columns]
    changed = [column for column in columns if any(column in counts for _, counts in rows)]
    values = []
    for keys, counts in rows:
        values += [*keys.values(), *(counts.get(column, 0) for column in columns)]
    updates = ", ".join(f"{q(c)} = {q(table)}.{q(c)} + EXCLUDED.{q(c)}" for c in changed)
    row = f"({', '.join(['%s'] * len(names))})"
    sql = (
        f"INSERT INTO {q(table)} ({', '.join(q(n) for n in names)}) "
        f"VALUES {', '.join([row] * len(rows))} "
        f"ON CONFLICT ({', '.join(q(k) for k in rows[0][0])}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def figures_add(changes: list[tuple[date, int | None, dict[str, int]]], *, kind=TEAMMATE) -> None:
    """Add each (day, teammate id, {column: increment}) to its day's figures of requests of
    `kind` (B: the bot's apart), rows in order, in one statement."""
    merged: dict[tuple[date, int], dict[str, int]] = defaultdict(dict)
    for day, teammate_id, counts in changes:
        row = merged[(day, teammate_id or 0)]
        for column, increment in counts.items():
            if column not in FIGURE_COLUMNS:
                raise ValueError(f"Unknown figure {column!r}.")
            row[column] = row.get(column, 0) + increment
    rows = []
    for (day, key), counts in sorted(merged.items()):
        counts = {column: n for column, n in counts.items() if n}
        if counts:
            rows.append(({"day": day, "kind": kind, "teammate_key": key}, counts))
    _upsert(DailyFigures._meta.db_table, rows, FIGURE_COLUMNS)
    for keys, counts in rows:
        if all(n < 0 for n in counts.values()):
            # Taken out (A10): a row left with nothing is one a recount would not have.
            DailyFigures.objects.filter(**keys, **dict.fromkeys(FIGURE_COLUMNS, 0)).delete()


def reasons_add(*, day: date, teammate_id: int | None, reasons, kind=TEAMMATE) -> None:
    rows = [
        ({"day": day, "kind": kind, "teammate_key": teammate_id or 0, "reason": r}, {"count": 1})
        for r in sorted(set(reasons))
    ]
    _upsert(DailyReasons._meta.db_table, rows, ("count",))


@transaction.atomic
def figures_rebuild(apps=global_apps) -> tuple[int, int]:
    """Recompute every daily figure from the requests, ratings and reasons; returns the
    number of (figure, reason) rows. `apps` lets a migration pass its historical models."""
    RatingRequest = apps.get_model("ratings", "RatingRequest")
    Rating = apps.get_model("ratings", "Rating")
    RatingReason = apps.get_model("ratings", "RatingReason")
    figures_model = apps.get_model("ratings", "DailyFigures")
    reasons_model = apps.get_model("ratings", "DailyReasons")
    zone = timezone.get_current_timezone()
    # G5: the teammate key (before the migration that added it, the teammate's id).
    fields = {field.name for field in Rating._meta.get_fields()}
    by = "teammate_key" if "teammate_key" in fields else "teammate_id"
    # B: per kind of request; a migration before the kinds (0010) has teammates' only.
    with_kinds = any(f.name == "kind" for f in figures_model._meta.get_fields())

    def kind_of(path: str):
        return F(path) if with_kinds else Value(TEAMMATE)

    def kind_field(kind: str) -> dict:
        return {"kind": kind} if with_kinds else {}

    rows: dict[tuple[date, str, int], dict[str, int]] = defaultdict(dict)
    sent = (
        RatingRequest.objects.annotate(
            day=TruncDate("created_at", tzinfo=zone), of_kind=kind_of("kind")
        )
        .values("day", "of_kind", by)
        .annotate(requests=Count("id"), answered=Count("rating"))
        .order_by()
    )
    for row in sent:
        rows[(row["day"], row["of_kind"], row[by] or 0)].update(
            requests=row["requests"], answered=row["answered"]
        )
    by_value = {column: Count("id", filter=Q(value=int(column[1]))) for column in VALUE_COLUMNS}
    rated = (
        Rating.objects.annotate(day=TruncDate("rated_at", tzinfo=zone), of_kind=kind_of("kind"))
        .values("day", "of_kind", by)
        .annotate(**by_value)
        .order_by()
    )
    for row in rated:
        rows[(row["day"], row["of_kind"], row[by] or 0)].update(
            {column: row[column] for column in VALUE_COLUMNS}
        )
    reasons = (
        RatingReason.objects.annotate(
            day=TruncDate("rating__rated_at", tzinfo=zone), of_kind=kind_of("rating__kind")
        )
        .values("day", "of_kind", f"rating__{by}", "reason")
        .annotate(count=Count("id"))
        .order_by()
    )
    figures_model.objects.all().delete()
    reasons_model.objects.all().delete()
    figures_model.objects.bulk_create(
        (
            figures_model(day=day, teammate_key=key, **kind_field(kind), **counts)
            for (day, kind, key), counts in rows.items()
        ),
        batch_size=1000,
    )
    reasons_model.objects.bulk_create(
        (
            reasons_model(
                day=row["day"],
                **kind_field(row["of_kind"]),
                teammate_key=row[f"rating__{by}"] or 0,
                reason=row["reason"],
                count=row["count"],
            )
            for row in reasons
        ),
        batch_size=1000,
    )
    return figures_model.objects.count(), reasons_model.objects.count()
