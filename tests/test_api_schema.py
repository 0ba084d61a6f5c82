"""The OpenAPI schema: it validates with no warning, the docs page works offline (assets served
from this site), and a property-based run of schemathesis against it finds no server error
and no answer that the schema does not describe."""

import os

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import Webhook
from api.tokens import token_issue
from conversations import clock, services
from csat_project.wsgi import application
from ratings.services import rating_submit
from tests.factories import ContactFactory, WorkflowFactory, start_conversation
from tests.report_helpers import requested, token_for


def test_schema_validates_with_no_warnings(tmp_path):
    """drf-spectacular's own check: `manage.py spectacular --validate --fail-on-warn`."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert text.startswith("openapi: 3.")
    assert "/api/v1/conversations/{id}/close/:" in text


def test_schema_is_served_to_anyone(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "csat API"
    assert "/api/v1/reports/summary/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["type"] == "apiKey"


def test_docs_page_loads_its_assets_from_this_site(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html and "https://" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}"), asset


# --- schemathesis ---------------------------------------------------------------------------------

# No server error, and every answer as documented (status, content type, headers, body);
# a request that breaks the schema (a wrong type, an unknown field) is refused with a 4xx.
# Not `positive_data_acceptance`: a request can fit the schema and still be refused by a rule
# (an unknown contact id, a closed conversation), which is a documented 4xx, not a failure.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def keep_connection():
    """Schemathesis calls the WSGI application itself; at the start and end of each request
    Django closes a connection that is inside a transaction (the test's, on PostgreSQL).
    Django's test client keeps it open the same way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


# Ids and tokens of the objects the test makes: path parameters are drawn from them at times,
# so that operations run on real conversations, ratings and webhooks, not only on 404s.
KNOWN = {"id": [], "token": []}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    options = [st.just(path_parameters)]
    if not path_parameters:
        return options[0]
    for name, known in KNOWN.items():
        value = path_parameters.get(name)
        fits = isinstance(value, str) if name == "token" else isinstance(value, int) and value > 0
        if known and fits:
            options.append(st.sampled_from(known).map(lambda v, n=name: {**path_parameters, n: v}))
    return st.one_of(options)


@pytest.fixture
def world(api_admin, capture):
    """A few of everything: contacts, open and closed conversations, a delivered survey (its
    token), a rating with history, a workflow, a webhook (nothing is sent: no commit)."""
    contact = ContactFactory()
    open_one = start_conversation(contacts=[contact], started_by=contact, body="Hello")
    services.conversation_reply(conversation=open_one, author=api_admin, body="w" * 260)
    request = requested(capture, api_admin, at=clock.now())
    rated = requested(capture, api_admin, at=clock.now())
    rating_submit(token=token_for(rated), value=2)
    WorkflowFactory()
    Webhook.objects.create(url="http://127.0.0.1:9/hook", secret="s" * 20)
    KNOWN["id"] = sorted({open_one.pk, request.conversation_id, rated.conversation_id, 1, 2})
    KNOWN["token"] = [token_for(request), token_for(rated)]
    yield
    KNOWN["id"], KNOWN["token"] = [], []


@pytest.fixture
def admin_headers(api_admin, world, keep_connection):
    _, key = token_issue(user=api_admin.user)
    return {"Authorization": f"Token {key}"}


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=os.environ.get("API_FUZZ_RANDOM") != "1",
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, admin_headers):
    case.call_and_validate(headers=admin_headers, checks=CHECKS)
