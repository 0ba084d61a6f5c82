"""Reads for the report pages (R1–R5): plain data computed by SQL aggregates.

Choices every figure shares (the pages say so too):
- a rating counts with its current value (a changed rating counts once, as it is now);
- it belongs to the teammate its request was for (D2, copied onto the rating);
- it falls in a period by the time the customer first rated (`rated_at`);
- requests fall in a period by the time they were sent (`created_at`), so the response rate
  is "of the requests sent in the period, the share that got a rating" (S3).
Nothing here loops over ratings in Python; loops are over days, weeks or teammates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, FilteredRelation, Q, QuerySet
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from conversations import clock
from conversations.models import Teammate
from ratings.models import Rating, RatingReason, RatingRequest, RatingSettings
from ratings.scale import LOW_VALUES, POSITIVE_VALUES, REACTIONS

PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
DEFAULT_TARGET = RatingSettings._meta.get_field("happiness_target").default
SKEW = timedelta(days=1)  # see csat_summary


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


def _ratings(period: Period, teammate_id: int | None) -> QuerySet:
    ratings = Rating.objects.filter(rated_at__gte=period.start, rated_at__lt=period.end)
    return ratings.filter(teammate_id=teammate_id) if teammate_id else ratings


def _value_counts() -> dict:
    return {
        f"v{reaction.value}": Count("id", filter=Q(value=reaction.value)) for reaction in REACTIONS
    }


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

    @classmethod
    def from_row(cls, row: dict) -> Counts:
        return cls(by_value={r.value: row.get(f"v{r.value}") or 0 for r in REACTIONS})


@dataclass(frozen=True)
class Summary:
    counts: Counts
    requests: int
    answered: int
    target: int
    reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        return share(self.answered, self.requests)

    @property
    def meets_target(self) -> bool | None:
        csat = self.counts.csat
        return None if csat is None else csat >= self.target


def happiness_target() -> int:
    """Read without creating the settings row (a GET never writes)."""
    target = RatingSettings.objects.filter(pk=1).values_list("happiness_target", flat=True)
    return next(iter(target), DEFAULT_TARGET)


def csat_summary(*, period: Period, teammate_id: int | None = None) -> Summary:
    """R1: four queries whatever the number of ratings."""
    counts = Counts.from_row(_ratings(period, teammate_id).aggregate(**_value_counts()))
    requests = RatingRequest.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    if teammate_id:
        requests = requests.filter(teammate_id=teammate_id)
    # A rating comes after its request, so only ratings from the period's start on (less a day,
    # against clocks that differ between machines) can answer one: the join reads the period's
    # ratings instead of all of them (bench/reports.py).
    answers = FilteredRelation("rating", condition=Q(rating__rated_at__gte=period.start - SKEW))
    sent = requests.annotate(answer=answers).aggregate(
        requests=Count("id"), answered=Count("answer")
    )
    return Summary(
        counts=counts,
        requests=sent["requests"],
        answered=sent["answered"],
        target=happiness_target(),
        reasons=low_rating_reasons(period=period, teammate_id=teammate_id),
    )


def low_rating_reasons(*, period: Period, teammate_id: int | None = None) -> list[tuple[str, int]]:
    reasons = RatingReason.objects.filter(
        rating__rated_at__gte=period.start,
        rating__rated_at__lt=period.end,
        # Always true (reasons come only with a terrible or bad rating, A1, which the comment
        # makes final, A3), and it lets the join read the low ratings only.
        rating__value__in=LOW_VALUES,
    )
    if teammate_id:
        reasons = reasons.filter(rating__teammate_id=teammate_id)
    rows = reasons.values("reason").annotate(count=Count("id")).order_by("-count", "reason")
    return [(row["reason"], row["count"]) for row in rows]


@dataclass(frozen=True)
class TrendPoint:
    day: date  # first day of the bucket
    ratings: int
    positive: int

    @property
    def csat(self) -> float | None:
        return share(self.positive, self.ratings)


def csat_trend(*, period: Period, teammate_id: int | None = None) -> tuple[str, list[TrendPoint]]:
    """R1's chart: ("day" | "week", one point per bucket, empty buckets included); one query."""
    bucket = "day" if period.days <= 31 else "week"
    trunc = TruncDay if bucket == "day" else TruncWeek
    rows = (
        _ratings(period, teammate_id)
        .annotate(bucket=trunc("rated_at", tzinfo=timezone.get_current_timezone()))
        .values("bucket")
        .annotate(ratings=Count("id"), positive=Count("id", filter=Q(value__in=POSITIVE_VALUES)))
        .order_by("bucket")
    )
    found = {_as_date(row["bucket"]): row for row in rows}
    step = timedelta(days=1 if bucket == "day" else 7)
    day = period.first_day if bucket == "day" else _monday(period.first_day)
    points = []
    while day <= period.last_day:
        row = found.get(day, {})
        points.append(
            TrendPoint(day=day, ratings=row.get("ratings", 0), positive=row.get("positive", 0))
        )
        day += step
    return bucket, points


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- R2 teammates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeammateRow:
    teammate_id: int
    name: str
    requests: int
    counts: Counts

    @property
    def ratings(self) -> int:
        return self.counts.total

    @property
    def csat(self) -> float | None:
        return self.counts.csat


TEAMMATE_SORTS = {
    "name": lambda row: row.name.lower(),
    "requests": lambda row: row.requests,
    "ratings": lambda row: row.ratings,
    "csat": lambda row: (row.csat is not None, row.csat or 0),
    **{f"v{r.value}": (lambda row, v=r.value: row.counts.by_value[v]) for r in REACTIONS},
}


def teammates_table(*, period: Period, sort: str = "name", teammate_id: int | None = None):
    """R2: one row per teammate with requests or ratings in the period; three queries.
    `sort` is a key of TEAMMATE_SORTS, "-" in front for descending."""
    ratings = (
        _ratings(period, teammate_id)
        .exclude(teammate_id=None)
        .values("teammate_id")
        .annotate(**_value_counts())
        .order_by()
    )
    requests = RatingRequest.objects.filter(
        created_at__gte=period.start, created_at__lt=period.end
    ).exclude(teammate_id=None)
    if teammate_id:
        requests = requests.filter(teammate_id=teammate_id)
    sent = dict(
        requests.values("teammate_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("teammate_id", "n")
    )
    rated = {row["teammate_id"]: Counts.from_row(row) for row in ratings}
    ids = set(sent) | set(rated)
    names = dict(Teammate.objects.filter(pk__in=ids).values_list("pk", "name"))
    empty = Counts.from_row({})
    rows = [
        TeammateRow(
            teammate_id=pk,
            name=names.get(pk, "?"),
            requests=sent.get(pk, 0),
            counts=rated.get(pk, empty),
        )
        for pk in ids
    ]
    key = sort.removeprefix("-")
    if key not in TEAMMATE_SORTS:
        raise ValidationError(f"Unknown sort {sort!r}.")
    rows.sort(key=lambda row: row.name.lower())
    rows.sort(key=TEAMMATE_SORTS[key], reverse=sort.startswith("-"))
    return rows


# --- R3 comments, R4 achievements ---------------------------------------------------------------


def comments(
    *,
    period: Period,
    teammate_id: int | None = None,
    values: tuple[int, ...] = (),
    reason: str = "",
    followed_up: bool | None = None,
    with_comment: bool = False,
) -> QuerySet:
    """R3: rated conversations, newest first, with what the page and the CSV show."""
    ratings = _ratings(period, teammate_id)
    if values:
        ratings = ratings.filter(value__in=values)
    if reason:
        ratings = ratings.filter(reason_rows__reason=reason)
    if followed_up is not None:
        ratings = ratings.filter(followed_up_at__isnull=not followed_up)
    if with_comment:
        ratings = ratings.exclude(comment="")
    return ratings.select_related(
        "teammate", "request__contact", "conversation", "followed_up_by"
    ).order_by("-rated_at", "-id")


def achievements(*, teammate_id: int, period: Period | None = None) -> QuerySet:
    """R4: a teammate's positive ratings that came with a comment, newest first."""
    ratings = Rating.objects.filter(teammate_id=teammate_id, value__in=POSITIVE_VALUES).exclude(
        comment=""
    )
    if period is not None:
        ratings = ratings.filter(rated_at__gte=period.start, rated_at__lt=period.end)
    return ratings.select_related("request__contact", "conversation").order_by("-rated_at", "-id")


def teammates_for_filter() -> list[tuple[int, str]]:
    return list(Teammate.objects.order_by("name").values_list("pk", "name"))


def reason_choices(*, period: Period) -> list[str]:
    """R3's reason filter: the admin's reasons, then any other reason seen in the period
    (a reason the admin has since removed); two queries."""
    saved = RatingSettings.objects.filter(pk=1).values_list("low_rating_reasons", flat=True)
    saved = list(saved)
    configured = RatingSettings(**({"low_rating_reasons": saved[0]} if saved else {})).reasons
    seen = (
        RatingReason.objects.filter(
            rating__rated_at__gte=period.start, rating__rated_at__lt=period.end
        )
        .exclude(reason__in=configured)  # those are listed anyway; the rest is rare
        .values_list("reason", flat=True)
        .order_by("reason")
        .distinct()
    )
    return list(dict.fromkeys([*configured, *seen]))


def teammate_of(*, user_id: int) -> tuple[int, str] | None:
    """The (id, name) of a user's teammate profile, None for a user without one (R4)."""
    return Teammate.objects.filter(user_id=user_id).values_list("pk", "name").first()
