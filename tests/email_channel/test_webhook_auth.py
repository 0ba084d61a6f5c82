"""M16: the chosen provider's webhook is never open: without basic auth or a signing key the
system check fails (mail.E001) and every post is refused with nothing created."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from conversations.models import Conversation
from mail.models import InboundFailure
from tests.email_channel.support import eml


def _errors():
    return [message.id for message in run_checks() if message.id.startswith("mail.")]


@override_settings(INBOUND_ESP="sendgrid", ANYMAIL={"WEBHOOK_SECRET": None})
def test_M16_a_chosen_provider_without_authentication_fails_the_system_check():
    assert _errors() == ["mail.E001"]


@pytest.mark.parametrize(
    "anymail",
    [{"WEBHOOK_SECRET": "csat:secret"}, {"SENDGRID_WEBHOOK_SIGNING_KEY": "key"}],
    ids=["basic-auth", "signing-key"],
)
def test_M16_basic_auth_or_a_signing_key_passes_the_check(anymail):
    with override_settings(INBOUND_ESP="sendgrid", ANYMAIL=anymail):
        assert _errors() == []


@override_settings(INBOUND_ESP="", ANYMAIL={})
def test_M16_no_provider_chosen_needs_nothing():
    assert _errors() == []


@pytest.mark.django_db
@override_settings(INBOUND_ESP="sendgrid", ANYMAIL={"WEBHOOK_SECRET": None})
def test_M16_an_unauthenticated_webhook_refuses_every_post(client):
    response = client.post("/inbound/sendgrid/", {"email": eml().decode()})
    assert response.status_code == 403
    assert "INBOUND_WEBHOOK_SECRET" in response.text
    assert Conversation.objects.count() == InboundFailure.objects.count() == 0
