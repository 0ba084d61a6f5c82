"""Reads for the report pages (R1–R5): plain data computed by SQL aggregates.

Choices every figure shares (the pages say so too):
- a rating counts with its current value (a changed rating counts once, as it is now);
- it belongs to the teammate its request was for (D2, copied onto the rating);
- it falls in a period by the time the customer first rated (`rated_at`);
- requests fall in a period by the time they were sent (`created_at`), so the response rate
  is "of the requests sent in the period, the share that got a rating" (S3).
R1's and R2's figures add up the daily figures (`ratings.figures`: per local day and teammate,
kept by the services in the transaction of each request and answer), so they cost a few rows
per day and teammate at any number of ratings; R3 and R4 list ratings. Nothing here loops over
ratings in Python; loops are over days, weeks or teammates. S4's interval is computed in
Python from those sums (no query of its own).

B6: the bot's ratings (requests of kind bot, for no teammate) are kept apart: R1 shows them on
a line of their own and its figures take a `kind` (teammate, the default; bot; None for all);
R2 lists teammates only; R3 shows and filters the kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations import clock
from conversations.models import FormerTeammate
from conversations.selectors import teammate_names
from ratings.models import (
    VALUE_COLUMNS,
    DailyFigures,
    DailyReasons,
    Rating,
    RatingSettings,
    value_column,
)
from ratings.rules import BOT, TEAMMATE
from ratings.scale import (
    ABOVE,
    BELOW,
    DEFAULT_MIN_RATINGS,
    LOW_VALUES,
    POSITIVE_VALUES,
    REACTIONS,
    target_standing,
    too_few_ratings,
    wilson_interval,
)

PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
# Dates a period may take: beyond these, a week's Monday or the day after the period would not
# be a date any more.
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)


# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days: from `first_day` to `last_day` inclusive, i.e. [start, end)."""

    first_day: date
    last_day: date
    preset: int | None = None  # 7, 30 or 90 for "last N days"; None for chosen dates

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first_day, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last_day + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def label(self) -> str:
        if self.preset:
            return f"Last {self.preset} days"
        return f"{self.first_day:%d %b %Y} – {self.last_day:%d %b %Y}"


def period_last(days: int = DEFAULT_DAYS, *, now: datetime | None = None) -> Period:
    today = timezone.localdate(now or clock.now())
    return Period(first_day=today - timedelta(days=days - 1), last_day=today, preset=days)


def period_from_params(params, *, now: datetime | None = None) -> Period:
    """The period of a query string: `days=7|30|90`, or `from=YYYY-MM-DD&to=YYYY-MM-DD`
    (inclusive). Raises ValidationError with a plain message for anything else."""
    first, last = params.get("from"), params.get("to")
    if first or last:
        try:
            first_day = date.fromisoformat(first or "")
            last_day = date.fromisoformat(last or "")
        except ValueError:
            raise ValidationError("Dates must be given as YYYY-MM-DD, both from and to.") from None
        if first_day > last_day:
            raise ValidationError("The period starts after it ends.")
        if first_day < EARLIEST or last_day > LATEST:
            raise ValidationError(
                f"Choose dates between {EARLIEST:%d %b %Y} and {LATEST:%d %b %Y}."
            )
        if (last_day - first_day).days + 1 > MAX_DAYS:
            raise ValidationError("A period covers at most three years.")
        return Period(first_day=first_day, last_day=last_day)
    days = params.get("days") or DEFAULT_DAYS
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if days not in PRESETS:
        raise ValidationError("Choose the last 7, 30 or 90 days, or two dates.")
    return period_last(days, now=now)


# --- R1 summary ---------------------------------------------------------------------------------


# B6: R1's and R3's kind filter, as the query string names it, and the kind it selects.
KIND_FILTERS = {"teammates": TEAMMATE, "bot": BOT, "all": None}
KIND_FILTER_NAMES = tuple(KIND_FILTERS)
DEFAULT_KIND = TEAMMATE


def _ratings(period: Period, teammate_id: int | None, kind: str | None = None) -> QuerySet:
    ratings = Rating.objects.filter(rated_at__gte=period.start, rated_at__lt=period.end)
    if kind:
        ratings = ratings.filter(kind=kind)
    return ratings.filter(teammate_key=teammate_id) if teammate_id else ratings


def _figures(model, period: Period, teammate_id: int | None, kind: str | None = None) -> QuerySet:
    """The daily rows (DailyFigures or DailyReasons) of the period's days, of requests of
    `kind` (None: every kind)."""
    rows = model.objects.filter(day__gte=period.first_day, day__lte=period.last_day)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.filter(teammate_key=teammate_id) if teammate_id else rows


def _sums(*columns: str) -> dict:
    return {column: Coalesce(Sum(column), 0) for column in columns}


def share(part: int, whole: int) -> float | None:
    """part ÷ whole as a percentage, None when there is nothing to divide (shown as "—")."""
    return 100.0 * part / whole if whole else None


@dataclass(frozen=True)
class Counts:
    """Ratings by value and what follows from them (S1)."""

    by_value: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.by_value.values())

    @property
    def positive(self) -> int:
        return sum(self.by_value[v] for v in POSITIVE_VALUES)

    @property
    def negative(self) -> int:
        return self.by_value[1]

    @property
    def neutral(self) -> int:
        return self.total - self.positive - self.negative

    @property
    def low(self) -> int:
        return sum(self.by_value[v] for v in LOW_VALUES)

    @property
    def csat(self) -> float | None:
        return share(self.positive, self.total)

    @property
    def interval(self) -> tuple[float, float] | None:
        """S4: the CSAT's 95 % Wilson interval, (low, high) as percentages; None without
        ratings."""
        found = wilson_interval(self.positive, self.total)
        return None if found is None else (100.0 * found[0], 100.0 * found[1])

    def too_few(self, standards: Standards) -> bool:
        """S4a: fewer ratings than the settings' threshold."""
        return too_few_ratings(self.total, standards.min_ratings)

    def standing(self, standards: Standards) -> str:
        """S4b: ABOVE, BELOW, WITHIN, TOO_FEW or NO_RATINGS against the target."""
        return target_standing(self.interval, standards.target, too_few=self.too_few(standards))

    @classmethod
    def from_row(cls, row: dict) -> Counts:
        return cls(by_value={r.value: row.get(value_column(r.value)) or 0 for r in REACTIONS})


@dataclass(frozen=True)
class Standards:
    """What a CSAT is measured against: the happiness target (%) and, for S4a, the ratings
    needed before a CSAT is shown (both from the rating settings)."""

    target: int = 80
    min_ratings: int = DEFAULT_MIN_RATINGS


def meets(standing: str) -> bool | None:
    """S4b as a yes/no: True only when wholly above, False only when wholly below, None when
    nothing can be claimed (no ratings, too few, or the target within the interval)."""
    return {ABOVE: True, BELOW: False}.get(standing)


class HonestCsat:
    """S4 beside a CSAT, for any figures with `counts` (Counts) and `standards` (Standards):
    the summary, the bot's line, a teammate's row."""

    counts: Counts
    standards: Standards

    @property
    def interval(self) -> tuple[float, float] | None:
        return self.counts.interval

    @property
    def too_few(self) -> bool:
        return self.counts.too_few(self.standards)

    @property
    def standing(self) -> str:
        return self.counts.standing(self.standards)

    @property
    def meets_target(self) -> bool | None:
        return meets(self.standing)


@dataclass(frozen=True)
class KindLine(HonestCsat):
    """B6: the figures of one kind of request (the bot's line of R1), with S4's interval and
    threshold as every CSAT has them."""

    counts: Counts
    requests: int
    answered: int
    standards: Standards = Standards()

    @property
    def response_rate(self) -> float | None:
        return share(self.answered, self.requests)


@dataclass(frozen=True)
class Summary(HonestCsat):
    counts: Counts
    requests: int
    answered: int
    target: int
    reasons: list[tuple[str, int]] = field(default_factory=list)
    min_ratings: int = DEFAULT_MIN_RATINGS
    kind: str | None = DEFAULT_KIND  # B6: the kind the figures above are of (None: all)
    bot: KindLine | None = None  # B6: the bot's own line, when it had requests or ratings

    @property
    def response_rate(self) -> float | None:
        return share(self.answered, self.requests)

    @property
    def standards(self) -> Standards:
        return Standards(target=self.target, min_ratings=self.min_ratings)


def report_standards() -> Standards:
    """The target and S4a's threshold: one query (a read: the defaults when never saved)."""
    settings = RatingSettings.current()
    return Standards(target=settings.happiness_target, min_ratings=settings.min_ratings_for_csat)


def happiness_target() -> int:
    return RatingSettings.current().happiness_target


def csat_summary(
    *, period: Period, teammate_id: int | None = None, kind: str | None = DEFAULT_KIND
) -> Summary:
    """R1: three queries whatever the number of ratings. The figures are summed per kind in
    the one query (B6), so the bot's line costs nothing more; the figures shown are those of
    `kind` (None: all kinds)."""
    columns = ("requests", "answered", *VALUE_COLUMNS)
    per_kind = {
        row["kind"]: row
        for row in _figures(DailyFigures, period, teammate_id)
        .values("kind")
        .annotate(**_sums(*columns))
        .order_by()
    }
    sums = {
        column: sum(row[column] for k, row in per_kind.items() if kind in (None, k))
        for column in columns
    }
    bot = per_kind.get(BOT)
    bot_line = None
    standards = report_standards()
    if bot and any(bot[column] for column in columns):
        bot_line = KindLine(
            counts=Counts.from_row(bot),
            requests=bot["requests"],
            answered=bot["answered"],
            standards=standards,
        )
    return Summary(
        counts=Counts.from_row(sums),
        requests=sums["requests"],
        answered=sums["answered"],
        target=standards.target,
        reasons=low_rating_reasons(period=period, teammate_id=teammate_id, kind=kind),
        min_ratings=standards.min_ratings,
        kind=kind,
        bot=bot_line,
    )


def low_rating_reasons(
    *, period: Period, teammate_id: int | None = None, kind: str | None = DEFAULT_KIND
) -> list[tuple[str, int]]:
    rows = (
        _figures(DailyReasons, period, teammate_id, kind)
        .values("reason")
        .annotate(n=Sum("count"))
        .filter(n__gt=0)
        .order_by("-n", "reason")
    )
    return [(row["reason"], row["n"]) for row in rows]


@dataclass(frozen=True)
class TrendPoint:
    day: date  # first day of the bucket
    ratings: int
    positive: int

    @property
    def csat(self) -> float | None:
        return share(self.positive, self.ratings)


def csat_trend(
    *, period: Period, teammate_id: int | None = None, kind: str | None = DEFAULT_KIND
) -> tuple[str, list[TrendPoint]]:
    """R1's chart: ("day" | "week", one point per bucket, empty buckets included); one query.
    Weeks start on Monday; days are summed into their week here (a loop over days). Of the
    ratings of `kind` (B6; None: all)."""
    bucket = "day" if period.days <= 31 else "week"
    rows = (
        _figures(DailyFigures, period, teammate_id, kind)
        .values("day")
        .annotate(
            ratings=Sum(F("v1") + F("v2") + F("v3") + F("v4") + F("v5")),
            positive=Sum(F("v4") + F("v5")),
        )
        .order_by("day")
    )
    found: dict[date, list[int]] = {}
    for row in rows:
        key = row["day"] if bucket == "day" else _monday(row["day"])
        totals = found.setdefault(key, [0, 0])
        totals[0] += row["ratings"] or 0
        totals[1] += row["positive"] or 0
    step = timedelta(days=1 if bucket == "day" else 7)
    day = period.first_day if bucket == "day" else _monday(period.first_day)
    points = []
    while day <= period.last_day:
        ratings, positive = found.get(day, (0, 0))
        points.append(TrendPoint(day=day, ratings=ratings, positive=positive))
        day += step
    return bucket, points


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- R2 teammates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeammateRow(HonestCsat):
    teammate_id: int
    name: str
    requests: int
    counts: Counts
    standards: Standards = Standards()

    @property
    def ratings(self) -> int:
        return self.counts.total

    @property
    def csat(self) -> float | None:
        return self.counts.csat

    @property
    def low(self) -> float | None:
        """S4: the interval's lower bound, the CSAT the ratings support at the least."""
        return None if self.interval is None else self.interval[0]


TEAMMATE_SORTS = {
    "name": lambda row: row.name.lower(),
    "requests": lambda row: row.requests,
    "ratings": lambda row: row.ratings,
    "csat": lambda row: (row.csat is not None, row.csat or 0),
    "low": lambda row: (row.low is not None, row.low or 0),
    **{f"v{r.value}": (lambda row, v=r.value: row.counts.by_value[v]) for r in REACTIONS},
}


def teammates_table(
    *,
    period: Period,
    sort: str = "name",
    teammate_id: int | None = None,
    standards: Standards | None = None,
):
    """R2: one row per teammate with requests or ratings in the period; two queries (a third
    for the `standards` when not given). `sort` is a key of TEAMMATE_SORTS, "-" in front for
    descending; "low" is S4's lower bound."""
    key = sort.removeprefix("-")
    if key not in TEAMMATE_SORTS:
        raise ValidationError(f"Unknown sort {sort!r}.")
    sums = (
        _figures(DailyFigures, period, teammate_id, TEAMMATE)  # B6: never the bot's
        .exclude(teammate_key=0)
        .values("teammate_key")
        .annotate(**_sums("requests", *VALUE_COLUMNS))
        .order_by()
    )
    found = {row["teammate_key"]: row for row in sums}
    if standards is None:
        standards = report_standards()
    names = teammate_names(found)  # G5: a deleted teammate's too

    rows = [
        TeammateRow(
            teammate_id=pk,
            name=names.get(pk, "?"),
            requests=row["requests"],
            counts=Counts.from_row(row),
            standards=standards,
        )
        for pk, row in found.items()
        if row["requests"] or any(row[column] for column in VALUE_COLUMNS)
    ]
    rows.sort(key=lambda row: row.name.lower())
    rows.sort(key=TEAMMATE_SORTS[key], reverse=sort.startswith("-"))
    return rows


# --- R3 comments, R4 achievements ---------------------------------------------------------------


def _comment_filters(
    *,
    period: Period,
    teammate_id: int | None = None,
    values: tuple[int, ...] = (),
    reason: str = "",
    followed_up: bool | None = None,
    with_comment: bool = False,
    kind: str | None = None,
) -> QuerySet:
    """R3's filters on the ratings alone (no join but a reason's)."""
    ratings = _ratings(period, teammate_id, kind)
    if values:
        ratings = ratings.filter(value__in=values)
    if reason:
        ratings = ratings.filter(reason_rows__reason=reason)
    if followed_up is not None:
        ratings = ratings.filter(followed_up_at__isnull=not followed_up)
    if with_comment:
        ratings = ratings.exclude(comment="")
    return ratings


def comments(**filters) -> QuerySet:
    """R3: rated conversations, newest first, with what the page and the CSV show; of one
    kind (B6) or, by default, all. `filters`: those of `_comment_filters`."""
    return (
        _comment_filters(**filters)
        .select_related("teammate", "request__contact", "conversation", "followed_up_by")
        .annotate(teammate_name=_teammate_name())
        .order_by("-rated_at", "-id")
    )


# What R3's page shows of each rating (the CSV and the API read more): the list's query
# loads these columns only, not every column of the five rows each rating joins.
COMMENT_PAGE_FIELDS = (
    "id",
    "value",
    "comment",
    "reasons",
    "rated_at",
    "followed_up_at",
    "kind",
    "teammate_key",
    "conversation_id",
    "teammate__name",
    "request__contact__name",
    "request__contact__email",
    "conversation__subject",
    "followed_up_by__username",
    "followed_up_by__first_name",
    "followed_up_by__last_name",
)


def comments_count(**filters) -> int:
    """How many ratings `comments(**filters)` lists; one query. Filtered by the period, the
    teammate, the reactions and the kind only, it adds up the daily figures (a few rows per
    day: `ratings.figures` keeps them equal to a count of the ratings); with a reason, a
    follow-up state or "with a comment", it counts the ratings, without the list's joins."""
    if any(filters.get(name) for name in ("reason", "with_comment")) or (
        filters.get("followed_up") is not None
    ):
        return _comment_filters(**filters).count()
    values = filters.get("values") or [r.value for r in REACTIONS]
    total = sum((F(value_column(value)) for value in values[1:]), F(value_column(values[0])))
    rows = _figures(
        DailyFigures, filters["period"], filters.get("teammate_id"), filters.get("kind")
    )
    return rows.aggregate(n=Coalesce(Sum(total), 0))["n"]


def _teammate_name():
    """G5: the rating's teammate's name, a deleted teammate's (`FormerTeammate`) included,
    in the query that lists the ratings."""
    former = FormerTeammate.objects.filter(teammate_key=OuterRef("teammate_key")).values("name")
    return Coalesce(F("teammate__name"), Subquery(former[:1]))


def achievements(*, teammate_id: int, period: Period | None = None) -> QuerySet:
    """R4: a teammate's positive ratings that came with a comment, newest first."""
    ratings = Rating.objects.filter(teammate_key=teammate_id, value__in=POSITIVE_VALUES).exclude(
        comment=""
    )
    if period is not None:
        ratings = ratings.filter(rated_at__gte=period.start, rated_at__lt=period.end)
    return ratings.select_related("request__contact", "conversation").order_by("-rated_at", "-id")


def teammates_for_filter() -> list[tuple[int, str]]:
    """Every teammate, deleted ones included (G5: their ratings stay theirs); one query."""
    return sorted(teammate_names().items(), key=lambda item: (item[1], item[0]))


def reason_choices(*, period: Period) -> list[str]:
    """R3's reason filter: the admin's reasons, then any other reason seen in the period
    (a reason the admin has since removed); two queries."""
    configured = RatingSettings.current().reasons
    seen = (
        _figures(DailyReasons, period, None)
        .filter(count__gt=0)
        .exclude(reason__in=configured)  # those are listed anyway; the rest is rare
        .values_list("reason", flat=True)
        .order_by("reason")
        .distinct()
    )
    return list(dict.fromkeys([*configured, *seen]))
