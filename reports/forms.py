"""The report pages' query strings: period, teammate and R3's filters, read into `Filters`.

Nothing here raises on bad input: an unusable parameter adds a plain message to
`Filters.errors` and falls back to its default, so a mistyped or stale shared link still shows
a page (never a 500). `Filters.query` is the canonical query string of what is shown; links
on the pages are built from it, so they never carry a parameter that was set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from ratings.scale import LOW_VALUES, REACTIONS
from reports.selectors import KIND_FILTERS, Period, period_from_params, period_last

PERIOD_KEYS = ("days", "from", "to")
FOLLOWED_CHOICES = [("", "Any"), ("yes", "Followed up"), ("no", "Not followed up")]
# B6: whose ratings R1 and R3 show; teammates' by default.
KIND_CHOICES = [("teammates", "Teammates"), ("bot", "Bot"), ("all", "All")]
DEFAULT_KIND_FILTER = "teammates"


@dataclass
class Filters:
    period: Period | None  # None: all time (R4 only)
    teammate_id: int | None = None
    values: tuple[int, ...] = ()
    reason: str = ""
    followed: str = ""  # "", "yes" or "no"
    with_comment: bool = False
    sort: str = ""
    kind_filter: str = DEFAULT_KIND_FILTER  # B6: teammates | bot | all
    errors: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        """The kind of request the selectors read (None: every kind)."""
        return KIND_FILTERS[self.kind_filter]

    @property
    def followed_up(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.followed)

    @property
    def narrowed(self) -> bool:
        """Anything beyond the period and the teammate."""
        return bool(self.values or self.reason or self.followed or self.with_comment)

    @property
    def low_only(self) -> bool:
        return self.values == LOW_VALUES

    @property
    def custom_dates(self) -> bool:
        return self.period is not None and not self.period.preset

    def period_query(self) -> QueryDict:
        """The period and the teammate: what the navigation carries from page to page."""
        query = QueryDict(mutable=True)
        if self.period is not None and self.period.preset:
            query["days"] = str(self.period.preset)
        elif self.period is not None:
            query["from"] = self.period.first_day.isoformat()
            query["to"] = self.period.last_day.isoformat()
        if self.teammate_id:
            query["teammate"] = str(self.teammate_id)
        if self.kind_filter != DEFAULT_KIND_FILTER:
            query["kind"] = self.kind_filter
        return query

    @property
    def query(self) -> QueryDict:
        query = self.period_query()
        if self.values:
            query.setlist("reaction", [str(value) for value in self.values])
        for key, value in (("reason", self.reason), ("followed", self.followed)):
            if value:
                query[key] = value
        if self.with_comment:
            query["comment"] = "1"
        if self.sort:
            query["sort"] = self.sort
        return query


class FilterForm(forms.Form):
    """Everything but the period, which `period_from_params` reads."""

    teammate = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "There is no teammate %(value)s; showing everyone."},
    )
    reaction = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        choices=[(str(r.value), r.label) for r in REACTIONS],
        error_messages={"invalid_choice": "Reactions are 1 to 5; %(value)s was set aside."},
    )
    reason = forms.CharField(
        required=False,
        max_length=120,
        error_messages={"max_length": "That reason is too long to be one; it was set aside."},
    )
    followed = forms.ChoiceField(
        required=False,
        choices=FOLLOWED_CHOICES,
        error_messages={"invalid_choice": "Followed up is yes, no or any; showing any."},
    )
    comment = forms.BooleanField(required=False)
    kind = forms.ChoiceField(
        required=False,
        choices=KIND_CHOICES,
        error_messages={
            "invalid_choice": "Show the ratings of teammates, the bot or all; "
            "%(value)s was set aside, showing teammates."
        },
    )
    sort = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": "Unknown sort %(value)s; sorted by name instead."},
    )

    def __init__(self, params, *, teammates, sorts=(), fields=("teammate",)):
        super().__init__(params)
        for name in set(self.fields) - set(fields):
            del self.fields[name]  # not this page's: ignored, not reported
        self.fields["teammate"].choices = [("", "All")] + [(str(pk), n) for pk, n in teammates]
        if "sort" in self.fields:
            keys = [key for sort in sorts for key in (sort, f"-{sort}")]
            self.fields["sort"].choices = [("", "")] + [(key, key) for key in keys]


COMMENT_FIELDS = ("teammate", "kind", "reaction", "reason", "followed", "comment")
SUMMARY_FIELDS = ("teammate", "kind")


def report_filters(
    params, *, teammates, fields=("teammate",), sorts=(), default_sort="", all_time=False
) -> Filters:
    """The filters of a query string. `teammates` are the (id, name) pairs a teammate may be
    chosen from; `fields` the filters the page has besides the period (others are ignored);
    `all_time` makes "no period given" mean all time instead of the last 30 days (R4)."""
    errors = []
    if all_time and not any(params.get(key) for key in PERIOD_KEYS):
        period = None
    else:
        try:
            period = period_from_params(params)
        except ValidationError as error:
            errors.append(f"{' '.join(error.messages)} Showing the last 30 days instead.")
            period = period_last()
    form = FilterForm(params, teammates=teammates, sorts=sorts, fields=fields)
    form.is_valid()
    for messages in form.errors.values():
        errors.extend(messages)
    data = form.cleaned_data
    return Filters(
        period=period,
        teammate_id=data.get("teammate"),
        values=tuple(sorted(set(data.get("reaction") or ()))),
        reason=(data.get("reason") or "").strip(),
        followed=data.get("followed") or "",
        with_comment=bool(data.get("comment")),
        sort=data.get("sort") or default_sort,
        kind_filter=data.get("kind") or DEFAULT_KIND_FILTER,
        errors=errors,
    )
