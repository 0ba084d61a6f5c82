"""R5: the teammates table and the comments as CSV, streamed row by row.

Django's "streaming large CSV files" pattern: `csv.writer` over a pseudo-buffer whose
`write` returns the line, fed to a `StreamingHttpResponse`; comments are read with
`.iterator(chunk_size=2000)`, so a million rows use flat memory. The file starts with a
UTF-8 byte order mark so spreadsheets read emoji and accents right. A cell a spreadsheet
would take for a formula (= + - @, or a tab or carriage return first) gets a leading quote.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from ratings.scale import ABOVE, BELOW, NO_RATINGS, REACTIONS, TOO_FEW, WITHIN
from ratings.scale import reaction as scale_reaction
from reports.templatetags.report_tags import percent_number, range_numbers

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000
TOO_FEW_WORDS = "too few ratings"


class Echo:
    """A file-like object whose `write` hands the line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value) -> str:
    """A cell as text, quoted against CSV injection when a spreadsheet would compute it."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _stream(header: list[str], rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield BOM + writer.writerow(header)
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _period_part(period) -> str:
    return f"{period.first_day:%Y-%m-%d}_to_{period.last_day:%Y-%m-%d}"


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


# S4b's standing in the CSV's words (the pages' badges).
STANDING_WORDS = {
    ABOVE: "above",
    BELOW: "below",
    WITHIN: "can't tell yet",
    TOO_FEW: TOO_FEW_WORDS,
    NO_RATINGS: "",
}


def teammates_csv(*, rows, period, standards) -> StreamingHttpResponse:
    """R2's rows; S4: the 95 % range beside the CSAT, "too few ratings" in place of a CSAT
    under the threshold (the range is still given), the standing in S4b's words."""
    header = ["Teammate", "Requests", "Ratings", "CSAT %", "CSAT 95 % low", "CSAT 95 % high"]
    header += [r.label for r in reversed(REACTIONS)]
    header += ["Happiness target %", "Ratings needed", "Against target"]

    def lines():
        for row in rows:
            low, high = range_numbers(row.interval) or ("", "")
            csat = TOO_FEW_WORDS if row.too_few and row.ratings else percent_number(row.csat)
            yield [
                row.name,
                row.requests,
                row.ratings,
                csat or "",
                low,
                high,
                *(row.counts.by_value[r.value] for r in reversed(REACTIONS)),
                standards.target,
                standards.min_ratings,
                STANDING_WORDS[row.standing],
            ]

    return _stream(header, lines(), f"teammates_{_period_part(period)}.csv")


def comments_csv(*, ratings, period, site_url: str) -> StreamingHttpResponse:
    header = [
        "Rated at",
        "Value",
        "Reaction",
        "Comment",
        "Low-rating reasons",
        "Teammate",
        "Kind",
        "Contact",
        "Contact email",
        "Conversation",
        "Conversation link",
        "Followed up at",
        "Followed up by",
    ]

    def lines():
        for rating in ratings.iterator(chunk_size=CHUNK_SIZE):
            contact = rating.request.contact
            follower = rating.followed_up_by
            link = reverse("admin:conversations_conversation_change", args=[rating.conversation_id])
            yield [
                _when(rating.rated_at),
                rating.value,
                scale_reaction(rating.value).label,
                rating.comment,
                "; ".join(rating.reasons or ()),
                rating.teammate_name or "",  # G5: a deleted teammate's name too
                rating.kind,
                contact.name,
                contact.email,
                rating.conversation_id,
                site_url + link,
                _when(rating.followed_up_at),
                (follower.get_full_name() or follower.get_username()) if follower else "",
            ]

    return _stream(header, lines(), f"comments_{_period_part(period)}.csv")
