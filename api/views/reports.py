"""The report figures (R1, R2), from the report pages' own selectors, open to those the pages
are open to (`reports.access`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.reports import (
    SummaryQuerySerializer,
    SummarySerializer,
    TeammatesReportQuerySerializer,
    TeammatesReportSerializer,
)
from api.views.base import period_of, validated_query
from ratings.scale import REACTIONS
from reports import selectors as report_selectors
from reports.access import REPORTS_PERMISSION


def _honest(figures) -> dict:
    """S4 beside the CSAT, of a `Summary`, its bot line or a `TeammateRow`."""
    low, high = figures.interval or (None, None)
    return {
        "csat_low": low,
        "csat_high": high,
        "too_few": figures.too_few,
        "standing": figures.standing,
        "meets_target": figures.meets_target,
    }


def _reaction_counts(counts) -> list[dict]:
    total = counts.total
    return [
        {
            "value": r.value,
            "name": r.name,
            "emoji": r.emoji,
            "count": counts.by_value[r.value],
            "share": report_selectors.share(counts.by_value[r.value], total),
        }
        for r in reversed(REACTIONS)
    ]


@extend_schema(
    tags=["reports"],
    summary="CSAT summary (R1)",
    description="The figures of the summary page, from the same selectors.",
    parameters=[SummaryQuerySerializer],
    responses={200: SummarySerializer},
)
class ReportSummary(APIView):
    required_perms = {"GET": [REPORTS_PERMISSION]}

    def get(self, request):
        query = validated_query(SummaryQuerySerializer, request)
        period = period_of(query)
        teammate_id = query.validated_data.get("teammate")
        kind_filter = query.validated_data["kind"]
        kind = report_selectors.KIND_FILTERS[kind_filter]
        summary = report_selectors.csat_summary(period=period, teammate_id=teammate_id, kind=kind)
        bucket, points = report_selectors.csat_trend(
            period=period, teammate_id=teammate_id, kind=kind
        )
        counts = summary.counts
        bot = summary.bot
        data = {
            "period": period,
            "teammate": teammate_id,
            "kind": kind_filter,
            "bot": None
            if bot is None
            else {
                "ratings": bot.counts.total,
                "csat": bot.counts.csat,
                "requests": bot.requests,
                "answered": bot.answered,
                "response_rate": bot.response_rate,
                **_honest(bot),
            },
            "ratings": counts.total,
            "by_reaction": _reaction_counts(counts),
            "positive": counts.positive,
            "neutral": counts.neutral,
            "negative": counts.negative,
            "csat": counts.csat,
            "requests": summary.requests,
            "answered": summary.answered,
            "response_rate": summary.response_rate,
            "target": summary.target,
            "min_ratings": summary.min_ratings,
            **_honest(summary),
            "reasons": [{"reason": reason, "count": n} for reason, n in summary.reasons],
            "trend": {"bucket": bucket, "points": points},
        }
        return Response(SummarySerializer(data).data)


@extend_schema(
    tags=["reports"],
    summary="CSAT per teammate (R2)",
    description="The rows of the teammates page, from the same selector.",
    parameters=[TeammatesReportQuerySerializer],
    responses={200: TeammatesReportSerializer},
)
class ReportTeammates(APIView):
    required_perms = {"GET": [REPORTS_PERMISSION]}

    def get(self, request):
        query = validated_query(TeammatesReportQuerySerializer, request)
        period = period_of(query)
        standards = report_selectors.report_standards()
        rows = report_selectors.teammates_table(
            period=period,
            sort=query.validated_data["sort"],
            teammate_id=query.validated_data.get("teammate"),
            standards=standards,
        )
        data = {
            "period": period,
            "target": standards.target,
            "min_ratings": standards.min_ratings,
            "rows": [
                {
                    "teammate": row.teammate_id,
                    "name": row.name,
                    "requests": row.requests,
                    "ratings": row.ratings,
                    "csat": row.csat,
                    **_honest(row),
                    "by_reaction": _reaction_counts(row.counts),
                }
                for row in rows
            ],
        }
        return Response(TeammatesReportSerializer(data).data)
