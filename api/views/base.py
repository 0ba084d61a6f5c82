"""What every resource's views share: strict input, lookups, cursor lists, the period."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import error_body
from reports import selectors as report_selectors


def validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def found_or_404(queryset, pk, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"There is no {what} {pk}.")
    return found


class PaginatedList(generics.ListAPIView):
    """A cursor-paginated list whose filters come from a query serializer."""

    query_serializer_class: type[serializers.Serializer] | None = None

    def filtered(self, queryset, query: dict):
        return queryset

    def list(self, request, *args, **kwargs):
        query = (
            validated(self.query_serializer_class, request.query_params)
            if self.query_serializer_class
            else {}
        )
        queryset = self.filtered(self.get_queryset(), query)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def period_of(query_serializer: serializers.Serializer):
    """The report period of the validated query (the report pages' own parsing)."""
    return report_selectors.period_from_params(query_serializer.period_params())


def validated_query(serializer_class, request) -> serializers.Serializer:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Unknown addresses under /api/ answer in the error shape too."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        message = "There is nothing at this address."
        if not request.path.endswith("/"):
            message += " API addresses end with a slash."
        response = Response(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
