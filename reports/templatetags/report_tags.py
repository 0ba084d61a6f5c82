"""Template helpers of the report pages: figures ("—" when there is nothing to divide), the
reactions of the scale, and the trend chart's geometry. The chart is computed per bucket (a
day or a week of `csat_trend`), never per rating, and drawn as inline SVG by the template."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from ratings.scale import reaction as scale_reaction

register = template.Library()

DASH = "—"


@dataclass(frozen=True)
class Frame:
    """A chart's box in SVG user units, the room around the plot for the axes' labels, and
    how many dates fit under it. The page draws a wide and a narrow one and shows the one that
    fits the screen (CSS), so labels keep a readable size on a phone."""

    name: str
    width: int
    height: int
    left: int
    right: int
    max_dates: int
    font_size: int
    top: int = 16
    bottom: int = 34


FRAMES = (
    Frame("wide", width=960, height=280, left=56, right=44, max_dates=8, font_size=13),
    Frame("narrow", width=400, height=260, left=50, right=32, max_dates=4, font_size=13),
)


def percent_number(value: float | None) -> str | None:
    """40.0 → "40", 66.666… → "66.7"; None (nothing to divide) stays None."""
    if value is None:
        return None
    text = f"{value:.1f}"
    return text.removesuffix(".0")


@register.filter
def percent(value: float | None) -> str:
    number = percent_number(value)
    return DASH if number is None else f"{number} %"


def range_numbers(interval: tuple[float, float] | None) -> tuple[str, str] | None:
    """S4's interval as two figures: (16.82…, 68.73…) → ("16.8", "68.7")."""
    if interval is None:
        return None
    return percent_number(interval[0]), percent_number(interval[1])


@register.filter
def percent_range(interval: tuple[float, float] | None) -> str:
    """S4's interval as the pages show it: "16.8–68.7 %"; "—" without ratings."""
    numbers = range_numbers(interval)
    return DASH if numbers is None else f"{numbers[0]}–{numbers[1]} %"


@register.filter
def reaction(value: int):
    return scale_reaction(value)


@register.filter
def counts_best_first(counts) -> list[int]:
    """A `Counts`' five numbers from amazing (5) down to terrible (1)."""
    return [counts.by_value[value] for value in sorted(counts.by_value, reverse=True)]


# The tags below draw what a page repeats per teammate (R2's rows, every page's teammate
# filter: 200 teammates) in one Python pass: the same markup as a template loop, at a tenth of
# its cost.


@register.simple_tag
def count_cells(counts):
    """R2: a row's five counts, amazing first, one `<td class="num">` each."""
    return format_html_join(
        "", '<td class="num">{}</td>', ((n,) for n in counts_best_first(counts))
    )


@register.simple_tag
def teammate_options(teammates, selected):
    """The teammate filter's options; `selected` (an id or None) is marked."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((pk, mark_safe(" selected") if pk == selected else "", name) for pk, name in teammates),
    )


@register.simple_tag
def teammate_rows(rows, comments_link: tuple[str, str], target, min_ratings):
    """R2's table body, one `<tr>` per `TeammateRow`: its name linking to its comments
    (`comments_link`: the address before and after the teammate's id), requests, ratings,
    CSAT (or "too few ratings", S4a), S4's range, the five counts and the standing badge."""
    before, after = comments_link
    return format_html_join("\n", "{}", ((_teammate_row(row, before, after, target, min_ratings),)
                                           for row in rows))  # fmt: skip


def _teammate_row(row, before: str, after: str, target, min_ratings):
    ratings = row.ratings
    if row.too_few and ratings:
        csat = format_html(
            '<span class="few" title="{} of the {} ratings needed for a CSAT">Too few ratings'
            "</span>",
            ratings,
            min_ratings,
        )
    else:
        csat = format_html("<strong>{}</strong>", percent(row.csat))
    return format_html(
        '<tr id="teammate-{}">'
        '<th scope="row"><a href="{}{}{}" title="{}\'s comments">{}</a></th>'
        '<td class="num">{}</td><td class="num">{}</td><td class="num csat">{}</td>'
        '<td class="num range">{}</td>{}<td>{}</td></tr>',
        row.teammate_id,
        before,
        row.teammate_id,
        after,
        row.name,
        row.name,
        row.requests,
        ratings,
        csat,
        percent_range(row.interval),
        count_cells(row.counts),
        standing_badge(row.standing, target, min_ratings, short=True),
    )


STANDING_BADGES = {
    # standing: (class, title, short text, long text); {target} and {min_ratings} filled in.
    "above": (
        "above",
        "The whole 95 % range is above the {target} % target",
        "Above",
        "Above the {target} % target",
    ),
    "below": (
        "below",
        "The whole 95 % range is below the {target} % target",
        "Below",
        "Below the {target} % target",
    ),
    "within": (
        "none",
        "The {target} % target is within the 95 % range: more ratings will tell",
        "Can’t tell yet",
        "Can’t tell yet: the {target} % target is within the range",
    ),
    "too_few": (
        "none",
        "Fewer than {min_ratings} ratings",
        "Too few ratings",
        "Too few ratings to compare with the {target} % target",
    ),
}


@register.simple_tag
def standing_badge(standing: str, target, min_ratings, short: bool = False):
    """S4b: where a CSAT stands against the target, as a badge; a claim only when the whole
    95 % range is above or below it. `short` for a table cell."""
    found = STANDING_BADGES.get(standing)
    if found is None:
        return format_html(
            '<span class="badge none">{}</span>', "No ratings" if short else "No ratings to compare"
        )
    css, title, short_text, long_text = found
    figures = {"target": target, "min_ratings": min_ratings}
    return format_html(
        '<span class="badge {}" title="{}">{}</span>',
        css,
        title.format(**figures),
        (short_text if short else long_text).format(**figures),
    )


@register.filter
def person(user) -> str:
    """A user as people call them: the full name, else the username."""
    if user is None:
        return DASH
    return user.get_full_name() or user.get_username()


# --- the trend chart ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    x: float  # centre of the bucket
    slot_x: float
    slot_width: float
    bar_x: float
    bar_y: float
    bar_height: float
    bar_width: float
    csat_y: float | None
    title: str


def _volume_ceiling(most: int) -> int:
    """A round top for the volume axis whose half is a whole number too."""
    if most <= 2:
        return 2
    magnitude = 10 ** math.floor(math.log10(most))
    for step in (1, 1.5, 2, 3, 4, 5, 6, 8, 10):
        top = round(step * magnitude)
        if top >= most and top % 2 == 0:
            return top
    return 2 * most


def _day_label(day) -> str:
    return f"{day.day} {day:%b}"


def _bucket_title(bucket: str, point) -> str:
    when = f"Week of {_day_label(point.day)}" if bucket == "week" else f"{point.day:%a} "
    if bucket == "day":
        when += _day_label(point.day)
    if not point.ratings:
        return f"{when}: no ratings"
    noun = "rating" if point.ratings == 1 else "ratings"
    return f"{when}: {point.ratings} {noun}, CSAT {percent(point.csat)}"


def chart_geometry(points, bucket: str, target: int, frame: Frame = FRAMES[0]) -> dict:
    plot_left, plot_right = frame.left, frame.width - frame.right
    plot_height = frame.height - frame.top - frame.bottom
    bottom = frame.top + plot_height
    slot = (plot_right - plot_left) / max(len(points), 1)
    bar_width = min(slot * 0.62, 28)
    volume_top = _volume_ceiling(max((p.ratings for p in points), default=0))

    def y_of_percent(value: float) -> float:
        return round(frame.top + plot_height * (1 - value / 100), 1)

    columns = []
    for index, point in enumerate(points):
        x = plot_left + slot * (index + 0.5)
        height = plot_height * point.ratings / volume_top
        columns.append(
            Column(
                x=round(x, 1),
                slot_x=round(plot_left + slot * index, 1),
                slot_width=round(slot, 1),
                bar_x=round(x - bar_width / 2, 1),
                bar_y=round(bottom - height, 1),
                bar_height=round(height, 1),
                bar_width=round(bar_width, 1),
                csat_y=None if point.csat is None else y_of_percent(point.csat),
                title=_bucket_title(bucket, point),
            )
        )
    # The CSAT line joins neighbouring buckets that have ratings; an empty bucket breaks it.
    path, previous = [], None
    for column in columns:
        if column.csat_y is not None:
            path.append(f"{'L' if previous is not None else 'M'}{column.x} {column.csat_y}")
        previous = column.csat_y
    step = math.ceil(len(points) / frame.max_dates) or 1
    return {
        "frame": frame,
        "left": plot_left,
        "right": plot_right,
        "top": frame.top,
        "bottom": bottom,
        "plot_height": plot_height,
        "columns": columns,
        "line": " ".join(path),
        "percent_ticks": [(y_of_percent(v), f"{v} %") for v in (0, 50, 100)],
        "volume_ticks": [
            (round(bottom - plot_height * v / volume_top, 1), v)
            for v in (0, volume_top // 2, volume_top)
        ],
        "date_labels": [
            (columns[i].x, _day_label(points[i].day)) for i in range(0, len(points), step)
        ],
        "target_y": y_of_percent(target),
        "volume_label_x": plot_right + 8,
        "percent_label_x": plot_left - 8,
        "date_label_y": bottom + 20,
    }


@register.inclusion_tag("reports/_trend_chart.html")
def trend_chart(points, bucket: str, target: int, label: str = ""):
    charts = [chart_geometry(points, bucket, target, frame) for frame in FRAMES]
    return {"charts": charts, "bucket": bucket, "target": target, "label": label}
