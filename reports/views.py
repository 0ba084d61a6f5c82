"""The report pages R1–R5: thin views over `reports.selectors` (reads) and
the two writes of `ratings` (follow-up and happiness target).

Access: anonymous visitors are sent to the login page; R1–R3, the CSVs and the two actions
need `reports.view_reports` (the Managers group; the rule is `reports.access.can_read_reports`)
and answer 403 without it; R4 shows a teammate their own positive comments, and lets a
manager pick any teammate. The period and the
filters live in the query string (see `reports.forms`); each page issues a fixed number of
queries whatever the number of ratings.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from conversations.selectors import teammate_of
from ratings.answers import rating_follow_up
from ratings.configure import happiness_target_set
from ratings.models import Rating
from ratings.scale import BY_VALUE, LOW_VALUES, REACTIONS
from reports import exports, selectors
from reports.access import can_read_reports
from reports.forms import (
    COMMENT_FIELDS,
    FOLLOWED_CHOICES,
    KIND_CHOICES,
    SUMMARY_FIELDS,
    report_filters,
)

PAGE_SIZE = 50
SORT_COLUMNS = [
    ("name", "Teammate"),
    ("requests", "Requests"),
    ("ratings", "Ratings"),
    ("csat", "CSAT"),
    ("low", "95 % range"),  # S4: sorted by the range's lower bound
    *((f"v{r.value}", r.label) for r in reversed(REACTIONS)),
]

SORT_TITLES = {"low": "Sort by the range's low end: the CSAT the ratings support at the least"}


def _forbidden(request, message: str):
    context = {"message": message, "is_teammate": teammate_of(request.user) is not None}
    return render(request, "reports/403.html", context, status=403)


def manager_required(view):
    """Login (anonymous → the login page, with `next`), then `reports.access`'s rule."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not can_read_reports(request.user):
            # Sign-in lands on the summary; a teammate's own page is their achievements.
            landing = view.__name__ == "summary" and request.method == "GET"
            if landing and teammate_of(request.user) is not None:
                return redirect("reports:achievements")
            return _forbidden(request, "The reports are for managers.")
        return view(request, *args, **kwargs)

    return wrapper


def _filters(params, **options):
    teammates = selectors.teammates_for_filter()
    return report_filters(params, teammates=teammates, **options), teammates


def _render(request, template, filters, teammates, status=200, **context):
    context.update(
        filters=filters,
        kind_choices=KIND_CHOICES,
        teammates=teammates,
        teammate_name=dict(teammates).get(filters.teammate_id, ""),
        period=filters.period,
        presets=selectors.PRESETS,
        low_values=[str(value) for value in LOW_VALUES],
        page_url=reverse(f"reports:{context['page']}"),
    )
    return render(request, template, context, status=status)


LINK_MARK = 987654321  # an id no row has yet, replaced by each row's


def _link_around(name: str) -> tuple[str, str]:
    """`{% url name id %}` for every row at the cost of one `reverse`: the address before and
    after the id (the lists' rows link to their conversation and follow-up by id)."""
    before, after = reverse(name, args=[LINK_MARK]).split(str(LINK_MARK))
    return before, after


def _next_url(request, fallback: str) -> str:
    """The page a form was on (`next`, this site only), else `fallback`'s address."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(fallback)


def _back(request, fallback: str, anchor: str = ""):
    """303 back to the page the form was on."""
    response = HttpResponseRedirect(_next_url(request, fallback) + anchor)
    response.status_code = 303
    return response


# --- R1 summary ---------------------------------------------------------------------------------


def _summary_page(request, params, status=200, **context):
    filters, teammates = _filters(params, fields=SUMMARY_FIELDS)
    summary = selectors.csat_summary(
        period=filters.period, teammate_id=filters.teammate_id, kind=filters.kind
    )
    bucket, points = selectors.csat_trend(
        period=filters.period, teammate_id=filters.teammate_id, kind=filters.kind
    )
    counts = summary.counts
    total = counts.total
    reactions = [
        (r, counts.by_value[r.value], selectors.share(counts.by_value[r.value], total))
        for r in reversed(REACTIONS)
    ]
    sentiments = [
        (key, key.capitalize(), count, selectors.share(count, total))
        for key, count in (
            ("positive", counts.positive),
            ("neutral", counts.neutral),
            ("negative", counts.negative),
        )
    ]
    context.setdefault("target_value", summary.target)
    context.setdefault("next_url", request.get_full_path())
    return _render(
        request,
        "reports/summary.html",
        filters,
        teammates,
        status=status,
        page="summary",
        summary=summary,
        counts=counts,
        reactions=reactions,
        sentiments=sentiments,
        bucket=bucket,
        points=points,
        label=filters.period.label,
        **context,
    )


@require_safe
@manager_required
def summary(request):
    """R1: counts per reaction, shares, CSAT, response rate, reasons, target, trend."""
    return _summary_page(request, request.GET)


@require_POST
@manager_required
def target_set(request):
    """R1: a manager sets the happiness target; a refusal shows on the page (400)."""
    try:
        settings = happiness_target_set(target=request.POST.get("target", ""))
    except ValidationError as error:
        next_url = _next_url(request, "reports:summary")
        return _summary_page(
            request,
            QueryDict(urlsplit(next_url).query),
            status=400,
            next_url=next_url,
            target_error=" ".join(error.messages),
            target_value=request.POST.get("target", ""),
        )
    messages.success(request, f"Happiness target set to {settings.happiness_target} %.")
    return _back(request, "reports:summary")


# --- R2 teammates -------------------------------------------------------------------------------


def _teammates(request):
    filters, teammates = _filters(
        request.GET,
        fields=("teammate", "sort"),
        sorts=list(selectors.TEAMMATE_SORTS),
        default_sort="name",
    )
    standards = selectors.report_standards()
    rows = selectors.teammates_table(
        period=filters.period,
        sort=filters.sort,
        teammate_id=filters.teammate_id,
        standards=standards,
    )
    return filters, teammates, rows, standards


@require_safe
@manager_required
def teammates(request):
    """R2: one row per teammate, sortable by each column, each linking to its comments."""
    filters, teammates, rows, standards = _teammates(request)
    columns = []
    for key, label in SORT_COLUMNS:
        current = filters.sort.removeprefix("-") == key
        descending = filters.sort.startswith("-")
        columns.append(
            {
                "key": key,
                "label": label,
                "emoji": BY_VALUE[int(key[1:])].emoji if key.startswith("v") else "",
                "title": SORT_TITLES.get(key, f"Sort by {label.lower()}"),
                "next": f"-{key}" if current and not descending else key,
                "aria": ("descending" if descending else "ascending") if current else "",
            }
        )
    # Each row links to its teammate's comments over the period: the address is made once,
    # around the row's id, as `{% querystring filters.period_query teammate=… %}` makes it.
    query = filters.period_query()
    query["teammate"] = "0"
    link = f"{reverse('reports:comments')}?{query.urlencode()}"
    at = link.index("teammate=0") + len("teammate=")
    return _render(
        request,
        "reports/teammates.html",
        filters,
        teammates,
        page="teammates",
        rows=rows,
        comments_link=(link[:at], link[at + 1 :]),
        columns=columns,
        target=standards.target,
        standards=standards,
    )


@require_safe
@manager_required
def teammates_csv(request):
    filters, _, rows, standards = _teammates(request)
    if filters.errors:
        return _csv_refused(filters)
    return exports.teammates_csv(rows=rows, period=filters.period, standards=standards)


def _csv_refused(filters):
    text = "The export was not made: " + " ".join(filters.errors) + "\n"
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


# --- R3 comments --------------------------------------------------------------------------------


def _comment_filters(filters) -> dict:
    return {
        "period": filters.period,
        "teammate_id": filters.teammate_id,
        "values": filters.values,
        "reason": filters.reason,
        "followed_up": filters.followed_up,
        "with_comment": filters.with_comment,
        "kind": filters.kind,
    }


def _comments(filters):
    return selectors.comments(**_comment_filters(filters))


class CountedPaginator(Paginator):
    """A paginator told how many there are (`selectors.comments_count`: from the daily
    figures when it can) instead of counting the list's query, joins and all."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.count = count


@require_safe
@manager_required
def comments(request):
    """R3: rated conversations newest first, filtered, 50 a page, with the follow-up button."""
    filters, teammates = _filters(request.GET, fields=COMMENT_FIELDS)
    reasons = selectors.reason_choices(period=filters.period)
    if filters.reason and filters.reason not in reasons:
        reasons.append(filters.reason)
    found = _comment_filters(filters)
    paginator = CountedPaginator(
        selectors.comments(**found).only(*selectors.COMMENT_PAGE_FIELDS),
        PAGE_SIZE,
        count=selectors.comments_count(**found),
    )
    ratings = paginator.get_page(request.GET.get("page"))
    return _render(
        request,
        "reports/comments.html",
        filters,
        teammates,
        page="comments",
        ratings=ratings,
        reasons=reasons,
        reactions=list(reversed(REACTIONS)),
        followed_choices=FOLLOWED_CHOICES,
        conversation_link=_link_around("admin:conversations_conversation_change"),
        follow_up_link=_link_around("reports:follow_up"),
        next_url=request.get_full_path(),
    )


@require_safe
@manager_required
def comments_csv(request):
    filters, _ = _filters(request.GET, fields=COMMENT_FIELDS)
    if filters.errors:
        return _csv_refused(filters)
    site_url = request.build_absolute_uri("/").rstrip("/")
    return exports.comments_csv(
        ratings=_comments(filters), period=filters.period, site_url=site_url
    )


@require_POST
@manager_required
def follow_up(request, rating_id: int):
    """R3: mark a rating followed up (who and when are kept), or undo it."""
    rating = get_object_or_404(Rating, pk=rating_id)
    undo = request.POST.get("undo") == "1"
    try:
        rating_follow_up(rating=rating, by=request.user, undo=undo)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = "no longer marked as followed up" if undo else "marked as followed up"
        messages.success(request, f"Rating of conversation #{rating.conversation_id} {done}.")
    return _back(request, "reports:comments", anchor=f"#rating-{rating.pk}")


# --- R4 achievements ----------------------------------------------------------------------------


@require_safe
@login_required
def achievements(request):
    """R4: a teammate's own positive comments; a manager may pick any teammate."""
    own = teammate_of(request.user)
    manager = can_read_reports(request.user)
    if not manager:
        if own is None:
            return _forbidden(request, "Achievements are kept for teammates.")
        if (request.GET.get("teammate") or str(own.pk)) != str(own.pk):
            return _forbidden(request, "You can see your own achievements only.")
    teammates = selectors.teammates_for_filter() if manager else [(own.pk, own.name)]
    filters = report_filters(request.GET, teammates=teammates, all_time=True)
    teammate_id = filters.teammate_id or (own.pk if own else None)
    ratings = None
    if teammate_id:
        found = selectors.achievements(teammate_id=teammate_id, period=filters.period)
        ratings = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(
        request,
        "reports/achievements.html",
        filters,
        teammates,
        page="achievements",
        ratings=ratings,
        manager=manager,
        subject=dict(teammates).get(teammate_id, ""),
        conversation_link=_link_around("admin:conversations_conversation_change"),
        own=own is not None and teammate_id == own.pk,
    )
