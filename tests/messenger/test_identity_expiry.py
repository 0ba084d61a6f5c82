"""K19: a Messenger identity that expires. A host app's server may sign the user id with a
time: `user_hash` = "<unix seconds>.<hex HMAC-SHA256 of user_id NUL unix seconds>"; it is
refused `MESSENGER_IDENTITY_MAX_AGE_HOURS` after that time (and when it is dated 5 minutes or
more ahead), and with `MESSENGER_IDENTITY_REQUIRE_TIMESTAMP` the plain hash is refused."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from conversations.identity import (
    IdentityRefused,
    messenger_user,
    user_hash,
    user_hash_timestamped,
)
from conversations.models import Contact

SECRET = "test-messenger-secret"  # csat_project/settings_test.py
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _stamp(at: datetime, user_id="u-42") -> str:
    return user_hash_timestamped(user_id, int(at.timestamp()), secret=SECRET)


def test_K19_the_timestamped_hash_is_the_hmac_of_the_id_a_nul_and_the_time():
    """What a host app's server computes (the README's snippet)."""
    issued = int(NOW.timestamp())
    digest = hmac.new(SECRET.encode(), f"u-42\x00{issued}".encode(), hashlib.sha256).hexdigest()
    assert _stamp(NOW) == f"{issued}.{digest}"


@pytest.mark.parametrize("hours", [24, 2])
def test_K19_a_timestamped_identity_works_until_its_age_runs_out(db, settings, hours):
    settings.MESSENGER_IDENTITY_MAX_AGE_HOURS = hours
    given = _stamp(NOW)
    with time_machine.travel(NOW + timedelta(hours=hours) - MINUTE, tick=False):
        assert messenger_user(user_id="u-42", user_hash_given=given).external_id == "u-42"
    with time_machine.travel(NOW + timedelta(hours=hours) + MINUTE, tick=False):
        with pytest.raises(IdentityRefused):
            messenger_user(user_id="u-42", user_hash_given=given)
        # signed again now: works
        assert messenger_user(user_id="u-42", user_hash_given=_stamp(NOW + timedelta(hours=hours)))


def test_K19_an_expired_identity_makes_no_contact(db):
    late = time_machine.travel(NOW + timedelta(hours=24) + MINUTE, tick=False)
    with late, pytest.raises(IdentityRefused):
        messenger_user(user_id="u-42", user_hash_given=_stamp(NOW))
    assert not Contact.objects.exists()


def test_K19_an_identity_dated_ahead_is_refused_beyond_five_minutes(db):
    with time_machine.travel(NOW, tick=False):
        assert messenger_user(user_id="u-42", user_hash_given=_stamp(NOW + 4 * MINUTE))
        with pytest.raises(IdentityRefused):
            messenger_user(user_id="u-42", user_hash_given=_stamp(NOW + 6 * MINUTE))


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(lambda: _stamp(NOW, user_id="u-43"), id="another-id"),
        pytest.param(
            lambda: f"{int(NOW.timestamp()) - 60}." + _stamp(NOW).split(".")[1], id="another-time"
        ),
        pytest.param(
            lambda: f"{int(NOW.timestamp())}." + user_hash("u-42", secret=SECRET),
            id="plain-under-a-time",
        ),
        # a plain hash of an id that looks like "u-42<NUL><time>" cannot be made: W1 refuses NUL
        pytest.param(lambda: _stamp(NOW).replace(".", ":"), id="other-separator"),
        pytest.param(lambda: "x" + _stamp(NOW), id="not-digits"),
    ],
)
def test_K19_a_timestamped_hash_names_its_id_and_its_time(db, given):
    with time_machine.travel(NOW, tick=False), pytest.raises(IdentityRefused):
        messenger_user(user_id="u-42", user_hash_given=given())


def test_K19_the_plain_hash_works_unless_a_timestamp_is_required(db, settings):
    plain = user_hash("u-42", secret=SECRET)
    assert messenger_user(user_id="u-42", user_hash_given=plain)
    settings.MESSENGER_IDENTITY_REQUIRE_TIMESTAMP = True
    with pytest.raises(IdentityRefused):
        messenger_user(user_id="u-42", user_hash_given=plain)
    now = datetime.now(UTC)
    assert messenger_user(user_id="u-42", user_hash_given=_stamp(now)).external_id == "u-42"


def test_K19_the_widget_session_endpoint_refuses_an_expired_identity(db, client):
    import json

    from django.urls import reverse

    def post(given):
        body = json.dumps({"user_id": "u-42", "user_hash": given})
        return client.post(reverse("messenger:session"), body, content_type="application/json")

    with time_machine.travel(NOW + timedelta(hours=24) - MINUTE, tick=False):
        assert post(_stamp(NOW)).status_code == 200
    with time_machine.travel(NOW + timedelta(hours=24) + MINUTE, tick=False):
        refused = post(_stamp(NOW))
    assert refused.status_code == 403 and refused.json()["code"] == "identity"
