"""Queries on hot paths: the API's lists cost the same whatever the number of rows (no N+1),
and a customer's click reads its request with what it needs in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ratings.services import rating_submit
from tests.factories import ContactFactory, TeammateFactory, settings_copy_warm
from tests.report_helpers import DAY, rate, requested, token_for

LISTS = [
    "/api/v1/conversations/",
    "/api/v1/contacts/",
    "/api/v1/teammates/",
    "/api/v1/ratings/?from=2025-03-01&to=2025-03-31",
]


def _queries(client, address):
    """The statements of a call, but the token's last-used write (K1: on its first call of a
    minute, whatever the rows)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(address)
    assert response.status_code == 200, response.content
    return sum(not q["sql"].startswith('UPDATE "api_apitoken"') for q in captured)


@pytest.mark.parametrize("address", LISTS)
def test_a_list_costs_the_same_for_2_and_for_8_rows(api_login, api_admin, capture, address):
    client = api_login(api_admin.user)
    teammate = TeammateFactory()

    def add(n):
        for i in range(n):
            rate(capture, teammate, 1 + i % 5, contact=ContactFactory())

    add(2)
    few = _queries(client, address)
    add(6)
    many = _queries(client, address)
    assert few == many, f"{address}: {few} queries for 2 rows, {many} for 8"


def test_a_click_reads_the_request_with_its_contact_in_one_query(capture, teammate):
    """rating_submit, the customer's click: the request, its close, contact and workflow come in
    one locked read; no query of its own for the contact the thread's event names."""
    request = requested(capture, teammate, at=DAY)
    with CaptureQueriesContext(connection) as captured:
        rating_submit(token=token_for(request), value=5)
    contact_reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "conversations_contact"' in q["sql"]
    ]
    assert contact_reads == []
    print(f"\nrating_submit: {len(captured)} queries")


def test_N5_a_terrible_click_costs_one_insert_more_than_a_great_one(capture, teammate):
    """N5 on the hot path: the alert's outbox row is the only query a terrible rating adds
    (its recipients are found by the task, after the commit); 3–5 add nothing."""
    great, ok, terrible = (requested(capture, teammate, at=DAY) for _ in range(3))
    settings_copy_warm()  # the settings' first read in this process is not the click's

    def queries(request, value):
        with CaptureQueriesContext(connection) as captured:
            rating_submit(token=token_for(request), value=value)
        return [q["sql"] for q in captured.captured_queries]

    base = queries(great, 5)
    assert len(queries(ok, 3)) == len(base)
    low = queries(terrible, 1)
    assert len(low) == len(base) + 1
    alert_writes = [sql for sql in low if "ratings_ratingalert" in sql]
    assert len(alert_writes) == 1 and alert_writes[0].startswith("INSERT")
