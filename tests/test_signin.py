"""Sign-in (K7, K8): failed sign-ins limited per user name and per address (django-axes, in
the database), and an optional TOTP second factor for staff (django-otp), on both sign-in pages.

Every sign-in here goes through the real pages (/accounts/login/ and /admin/login/) with a real
password; codes are computed from the device's own key with django_otp.oath, at a time fixed
by time-machine.
"""

import importlib
from base64 import b32decode, b32encode
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from axes.models import AccessAttempt
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from conversations.models import TOTPDevice
from csat_project.signin import CODE_MISSING, CODE_WRONG
from tests.factories import TeammateFactory, UserFactory

totp_migration = importlib.import_module("conversations.migrations.0014_totp_secrets")

PASSWORD = "a-long-test-password"
PAGES = ["/accounts/login/", "/admin/login/"]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ann(db):
    return UserFactory(username="ann", is_staff=True)


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", is_staff=True)


def sign_in(page, username, password=PASSWORD, address="192.0.2.10", code=None, **headers):
    """One POST to a sign-in page from `address` (a fresh browser each time)."""
    data = {"username": username, "password": password}
    if code is not None:
        data["otp_token"] = code
    return Client(REMOTE_ADDR=address, **headers).post(page, data)


def signed_in(response):
    return response.status_code == 302


def locked(response):
    return response.status_code == 429 and b"Signing in is paused" in response.content


def code_of(device, at=None):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = (at or datetime.now(UTC)).timestamp()
    return f"{totp.token():06d}"


# --- K7 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_K7_the_fifth_failure_is_the_forms_error_the_sixth_attempt_is_locked(page, ann, clock):
    """The limit (5) at its boundary: five wrong passwords each get the page's own error (200);
    the sixth attempt is refused with the lock-out page (429) even with the right password."""
    for _ in range(5):
        wrong = sign_in(page, "ann", "not-the-password")
        assert wrong.status_code == 200 and not locked(wrong)
    sixth = sign_in(page, "ann")
    assert locked(sixth)
    assert "_auth_user_id" not in sixth.client.session
    text = sixth.content.decode()
    assert "Try again in 15 minutes" in text
    assert "Access attempts" in text and "manage.py axes_reset" in text
    assert 'class="brand"' in text  # the project's base template
    assert sixth["Retry-After"] == "900"


def test_K7_four_failures_then_the_right_password_signs_in(ann, clock):
    for _ in range(4):
        sign_in("/accounts/login/", "ann", "not-the-password")
    assert signed_in(sign_in("/accounts/login/", "ann"))


def test_K7_one_address_is_locked_across_two_user_names(ann, bob, clock):
    for username in ("ann", "ann", "ann", "bob", "bob"):
        sign_in("/accounts/login/", username, "wrong", address="192.0.2.10")
    assert locked(sign_in("/accounts/login/", "bob", address="192.0.2.10"))
    # bob's name has only two failures: from another address he signs in
    assert signed_in(sign_in("/accounts/login/", "bob", address="192.0.2.11"))


def test_K7_one_user_name_is_locked_across_two_addresses(ann, bob, clock):
    for address in ("192.0.2.10", "192.0.2.10", "192.0.2.10", "192.0.2.11", "192.0.2.11"):
        sign_in("/admin/login/", "ann", "wrong", address=address)
    assert locked(sign_in("/admin/login/", "ann", address="198.51.100.7"))
    # the third address is not locked: another user signs in from it
    assert signed_in(sign_in("/admin/login/", "bob", address="198.51.100.7"))


def test_K7_without_a_proxy_a_client_sent_forwarded_header_picks_no_new_address(ann, bob, clock):
    for number in range(5):
        forged = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{number}"}
        sign_in("/accounts/login/", f"guess{number}", "wrong", address="192.0.2.10", **forged)
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.99"}
    assert locked(sign_in("/accounts/login/", "bob", address="192.0.2.10", **forged))


def test_K7_behind_the_proxy_the_address_it_forwards_counts(ann, bob, clock, settings):
    """BEHIND_TLS_PROXY (NUM_PROXIES=1): the address the proxy appended, as for the throttles;
    one the client put in front of it changes nothing."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.2"
    for number in range(5):
        sent = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{number}, 203.0.113.5"}
        sign_in("/accounts/login/", f"guess{number}", "wrong", address=proxy, **sent)
    from_it = {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    assert locked(sign_in("/accounts/login/", "bob", address=proxy, **from_it))
    another = {"HTTP_X_FORWARDED_FOR": "203.0.113.6"}
    assert signed_in(sign_in("/accounts/login/", "bob", address=proxy, **another))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


def test_K7_the_lock_ends_after_the_cool_off(ann, clock):
    for _ in range(5):
        sign_in("/accounts/login/", "ann", "wrong")
    clock.shift(timedelta(minutes=14))
    almost = sign_in("/accounts/login/", "ann")
    assert locked(almost)
    assert "Try again in 1 minute " in almost.content.decode()
    clock.shift(timedelta(minutes=2))  # 16 minutes after the last failure
    assert signed_in(sign_in("/accounts/login/", "ann"))


@override_settings(AXES_FAILURE_LIMIT=2, AXES_COOLOFF_TIME=timedelta(minutes=3))
def test_K7_the_limit_and_the_cool_off_come_from_the_settings(ann, clock):
    for _ in range(2):
        sign_in("/accounts/login/", "ann", "wrong")
    assert locked(sign_in("/accounts/login/", "ann"))
    clock.shift(timedelta(minutes=3, seconds=1))
    assert signed_in(sign_in("/accounts/login/", "ann"))


def test_K7_an_admin_lifts_the_lock_in_the_access_attempts(ann, clock):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(5):
        sign_in("/accounts/login/", "ann", "wrong", address="192.0.2.10")
    assert locked(sign_in("/accounts/login/", "ann", address="192.0.2.10"))
    admin = Client()
    admin.force_login(superuser)
    listed = admin.get("/admin/axes/accessattempt/")
    assert listed.status_code == 200 and "ann" in listed.content.decode()
    pks = list(AccessAttempt.objects.values_list("pk", flat=True))
    lifted = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": pks, "post": "yes"},
    )
    assert lifted.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert signed_in(sign_in("/accounts/login/", "ann", address="192.0.2.10"))


def test_K7_manage_py_axes_reset_lifts_the_lock(ann, clock):
    for _ in range(5):
        sign_in("/admin/login/", "ann", "wrong")
    assert locked(sign_in("/admin/login/", "ann"))
    call_command("axes_reset", verbosity=0)
    assert signed_in(sign_in("/admin/login/", "ann"))


def test_K7_the_password_is_not_kept_with_the_failed_attempt(ann, clock):
    sign_in("/accounts/login/", "ann", "my-secret-guess", code="123456")
    attempt = AccessAttempt.objects.get()
    assert "my-secret-guess" not in attempt.post_data and "123456" not in attempt.post_data


def test_K7_an_api_token_is_not_limited(teammate, clock, api_login):
    """The lock is on the sign-in pages; the API's token authentication does not go through
    them and works from a locked address."""
    for number in range(5):
        sign_in("/accounts/login/", f"guess{number}", "wrong", address="127.0.0.1")
    username = teammate.user.username
    assert locked(sign_in("/accounts/login/", username, address="127.0.0.1"))
    assert api_login(teammate.user).get("/api/v1/conversations/").status_code == 200


# --- K8 -------------------------------------------------------------------------------------


@pytest.fixture
def ann_with_device(ann):
    return TOTPDevice.objects.create(user=ann, name="phone", confirmed=True)


def test_K8_a_staff_user_sets_up_two_factor_with_a_real_code(ann, clock):
    browser = Client()
    browser.force_login(ann)
    page = browser.get("/accounts/two-factor/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<svg" in text and "<script" not in text
    assert not TOTPDevice.objects.exists()  # a GET writes nothing
    secret = page.context["secret"].replace(" ", "")
    assert secret in text.replace(" ", "")
    signed = page.context["form"]["secret"].value()
    key = b32decode(secret)
    draft = TOTPDevice(user=ann, key=key.hex())

    wrong = browser.post("/accounts/two-factor/", {"secret": signed, "otp_token": "000000"})
    if code_of(draft) == "000000":  # pragma: no cover - one chance in a million
        pytest.skip("the wrong code is the right one")
    assert wrong.status_code == 400 and CODE_WRONG in wrong.content.decode()
    assert not TOTPDevice.objects.exists()
    assert wrong.context["secret"].replace(" ", "") == secret  # the same secret again

    done = browser.post("/accounts/two-factor/", {"secret": signed, "otp_token": code_of(draft)})
    assert done.status_code == 302
    device = TOTPDevice.objects.get(user=ann)
    assert device.confirmed and device.bin_key == key
    assert browser.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_K8_an_altered_or_old_enrolment_form_is_refused(ann, bob, clock):
    browser = Client()
    browser.force_login(bob)
    signed = browser.get("/accounts/two-factor/").context["form"]["secret"].value()
    browser.force_login(ann)  # bob's form, posted by ann
    refused = browser.post("/accounts/two-factor/", {"secret": signed, "otp_token": "123456"})
    assert refused.status_code == 400 and not TOTPDevice.objects.exists()
    signed = browser.get("/accounts/two-factor/").context["form"]["secret"].value()
    clock.shift(timedelta(minutes=16))
    refused = browser.post("/accounts/two-factor/", {"secret": signed, "otp_token": "123456"})
    assert refused.status_code == 400 and "expired" in refused.content.decode()
    assert not TOTPDevice.objects.exists()


@pytest.mark.parametrize("page", PAGES)
def test_K8_signing_in_asks_for_the_code(page, ann_with_device, clock):
    missing = sign_in(page, "ann")
    assert missing.status_code == 200 and CODE_MISSING in missing.content.decode()
    assert "_auth_user_id" not in missing.client.session
    wrong_code = "000000" if code_of(ann_with_device) != "000000" else "111111"
    wrong = sign_in(page, "ann", code=wrong_code)
    assert wrong.status_code == 200 and CODE_WRONG in wrong.content.decode()
    assert "_auth_user_id" not in wrong.client.session
    clock.shift(timedelta(seconds=5))  # past django-otp's own pause after a wrong code
    right = sign_in(page, "ann", code=code_of(ann_with_device))
    assert signed_in(right)
    assert right.client.session[DEVICE_ID_SESSION_KEY] == ann_with_device.persistent_id
    assert right.client.get("/admin/").status_code == 200
    # a used code is not taken twice
    clock.shift(timedelta(seconds=5))
    assert not signed_in(sign_in(page, "ann", code=code_of(ann_with_device)))


def test_K8_wrong_codes_count_toward_the_sign_in_limit(ann_with_device, clock):
    for _ in range(5):
        clock.shift(timedelta(seconds=40))
        refused = sign_in("/accounts/login/", "ann", code="000000")
        assert refused.status_code == 200
    clock.shift(timedelta(seconds=40))
    assert locked(sign_in("/accounts/login/", "ann", code=code_of(ann_with_device)))


def test_K8_a_user_without_a_device_signs_in_without_a_code(ann, clock):
    assert signed_in(sign_in("/admin/login/", "ann"))


def test_K8_a_session_from_before_the_device_must_sign_in_again_for_the_admin(
    ann_with_device, clock
):
    browser = Client()
    browser.force_login(ann_with_device.user)  # no second factor in this session
    response = browser.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("required", [False, True])
def test_K8_a_superuser_is_sent_to_set_up_two_factor_only_when_required(
    required, settings, clock, ann
):
    settings.OTP_REQUIRED_FOR_SUPERUSERS = required
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(superuser)
    response = browser.get("/admin/", follow=True)
    if not required:
        assert response.redirect_chain == [] and response.status_code == 200
        return
    assert response.redirect_chain[-1][0] == "/accounts/two-factor/?next=/admin/"
    assert "Superusers need two-factor sign-in" in response.content.decode()
    assert browser.get("/admin/conversations/conversation/").status_code == 302
    # a staff user who is not a superuser is not asked
    other = Client()
    other.force_login(ann)
    assert other.get("/admin/").status_code == 200
    # set up: the admin opens
    page = browser.get("/accounts/two-factor/?next=/admin/")
    draft = TOTPDevice(user=superuser, key=b32decode(page.context["secret"].replace(" ", "")).hex())
    done = browser.post(
        "/accounts/two-factor/",
        {
            "secret": page.context["form"]["secret"].value(),
            "otp_token": code_of(draft),
            "next": "/admin/",
        },
    )
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_K8_staff_remove_their_device_with_a_current_code(ann_with_device, clock):
    browser = Client()
    browser.force_login(ann_with_device.user)
    page = browser.get("/accounts/two-factor/")
    assert page.status_code == 200 and "Turn two-factor sign-in off" in page.content.decode()
    wrong_code = "000000" if code_of(ann_with_device) != "000000" else "111111"
    refused = browser.post("/accounts/two-factor/remove/", {"otp_token": wrong_code})
    assert refused.status_code == 400 and CODE_WRONG in refused.content.decode()
    assert TOTPDevice.objects.filter(pk=ann_with_device.pk).exists()
    clock.shift(timedelta(seconds=5))
    removed = browser.post("/accounts/two-factor/remove/", {"otp_token": code_of(ann_with_device)})
    assert removed.status_code == 302
    assert not TOTPDevice.objects.exists()
    assert signed_in(sign_in("/accounts/login/", "ann"))  # no code asked any more


def test_K8_an_admin_removes_a_staff_users_device_in_the_admin(ann_with_device, clock):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(superuser)
    change = admin.get(f"/admin/conversations/totpdevice/{ann_with_device.pk}/change/")
    assert change.status_code == 200
    assert ann_with_device.key not in change.content.decode()  # never shown again
    assert (
        "otpauth://" not in change.content.decode() and 'name="key"' not in change.content.decode()
    )
    # no page gives the key or its QR code (django-otp's config/ page is not there)
    config = admin.get(f"/admin/conversations/totpdevice/{ann_with_device.pk}/config/", follow=True)
    assert ann_with_device.key not in config.content.decode()
    assert "otpauth://" not in config.content.decode()
    assert admin.get("/admin/conversations/totpdevice/add/").status_code == 403
    url = f"/admin/conversations/totpdevice/{ann_with_device.pk}/delete/"
    assert admin.get(url).status_code == 200
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.exists()
    assert signed_in(sign_in("/admin/login/", "ann"))


def test_K8_two_factor_is_for_staff(db, clock):
    customer_login = UserFactory(username="carl", is_staff=False)
    browser = Client()
    browser.force_login(customer_login)
    refused = browser.get("/accounts/two-factor/")
    assert refused.status_code == 403 and "for staff accounts" in refused.content.decode()
    assert browser.post("/accounts/two-factor/remove/", {"otp_token": "1"}).status_code == 403


def test_K7_a_member_of_the_admins_group_lifts_a_lock(ann, clock):
    """Not only superusers: the Admins group sees the attempts and deletes them (its
    migration's grant), and a teammate does not."""
    for _ in range(5):
        sign_in("/accounts/login/", "ann", "wrong")
    member = TeammateFactory(name="Abe Admins", email="abe@example.com")
    member.user.groups.add(Group.objects.get(name="Admins"))
    teammate = TeammateFactory(name="Tia Teammate", email="tia@example.com")
    refused = Client()
    refused.force_login(teammate.user)
    assert refused.get("/admin/axes/accessattempt/").status_code == 403
    admin = Client()
    admin.force_login(member.user)
    attempt = AccessAttempt.objects.get()
    url = f"/admin/axes/accessattempt/{attempt.pk}/delete/"
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert signed_in(sign_in("/accounts/login/", "ann"))


# --- K8: the device's key encrypted at rest -----------------------------------------------------


def raw_device_keys() -> list[str]:
    """The key column as a database dump holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM conversations_totpdevice ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def pieces_of(secret: str, size: int = 12) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def test_K8_the_key_column_is_not_the_key(ann_with_device, settings):
    """The column holds a Fernet token, no piece of the key (hex or base32), and a new token at
    each save; the attribute is the key."""
    key = ann_with_device.key
    assert len(key) == 40 and bytes.fromhex(key) == ann_with_device.bin_key
    (stored,) = raw_device_keys()
    assert stored != key and stored.startswith("gAAAAA")
    base32 = b32encode(ann_with_device.bin_key).decode()
    assert not [piece for piece in pieces_of(key) | pieces_of(base32) if piece in stored]
    assert Fernet(settings.FIELD_ENCRYPTION_KEY[0]).decrypt(stored.encode()).decode() == key
    ann_with_device.save()
    assert raw_device_keys() != [stored]
    assert TOTPDevice.objects.get().key == key
    with pytest.raises(FieldError):
        TOTPDevice.objects.filter(key=key).exists()


def test_K8_a_real_code_from_the_stored_key_verifies_once(ann_with_device, clock):
    """A code computed (RFC 6238, django_otp.oath) from the key read back from the database
    verifies; the same code again is refused, even after the throttle's pause; the next time
    step's code is taken; a wrong code is refused."""
    device = TOTPDevice.objects.get(pk=ann_with_device.pk)
    code = code_of(device)
    assert device.verify_token(code)
    device = TOTPDevice.objects.get(pk=ann_with_device.pk)
    assert device.last_t == int(START.timestamp()) // 30 and device.last_used_at is not None
    assert not device.verify_token(code)  # reuse refused
    clock.shift(timedelta(seconds=10))
    assert not TOTPDevice.objects.get(pk=device.pk).verify_token(code)
    clock.shift(timedelta(seconds=30))
    device = TOTPDevice.objects.get(pk=device.pk)
    device.throttle_reset()
    wrong = "000000" if code_of(device) != "000000" else "111111"
    assert not device.verify_token(wrong)
    clock.shift(timedelta(seconds=5))
    assert TOTPDevice.objects.get(pk=device.pk).verify_token(code_of(device))


def test_K8_rotation_re_encrypts_the_device_keys(ann_with_device, settings):
    old_key = settings.FIELD_ENCRYPTION_KEY[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new_key, old_key]
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "conversations.TOTPDevice.key: 1 re-encrypted, 0 already under the first key" in (
        out.getvalue().splitlines()
    )
    (stored,) = raw_device_keys()
    assert Fernet(new_key).decrypt(stored.encode()).decode() == ann_with_device.key
    settings.FIELD_ENCRYPTION_KEY = [new_key]  # the old key dropped
    assert TOTPDevice.objects.get().key == ann_with_device.key


@pytest.fixture
def clear_table(db):
    """django-otp's `otp_totp_totpdevice` as an installation before this change has it."""
    when = connection.data_types["DateTimeField"]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE otp_totp_totpdevice (id integer PRIMARY KEY, user_id integer NOT NULL, "
            'name varchar(64) NOT NULL, confirmed boolean NOT NULL, "key" varchar(80) NOT NULL, '
            "step smallint NOT NULL, t0 bigint NOT NULL, digits smallint NOT NULL, "
            "tolerance smallint NOT NULL, drift smallint NOT NULL, last_t bigint NOT NULL, "
            f"throttling_failure_timestamp {when} NULL, "
            "throttling_failure_count integer NOT NULL, "
            f"created_at {when} NULL, last_used_at {when} NULL)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE otp_totp_totpdevice")


def test_K8_the_migration_encrypts_the_clear_devices_and_empties_their_table(
    ann, clear_table, clock
):
    key = "3132333435363738393031323334353637383930"
    made = connection.ops.adapt_datetimefield_value(START - timedelta(days=3))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO otp_totp_totpdevice VALUES "
            "(7, %s, 'phone', %s, %s, 30, 0, 6, 1, 0, 5, NULL, 0, %s, NULL)",
            [ann.pk, True, key, made],
        )

    assert totp_migration.move_clear_devices(TOTPDevice, connection) == 1

    device = TOTPDevice.objects.get()
    assert (device.user, device.name, device.confirmed, device.key) == (ann, "phone", True, key)
    assert (device.last_t, device.created_at) == (5, START - timedelta(days=3))
    assert raw_device_keys() != [key] and key not in raw_device_keys()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM otp_totp_totpdevice")
        assert cursor.fetchone() == (0,)
    # the same app's codes still sign in
    assert signed_in(sign_in("/accounts/login/", "ann", code=code_of(device)))


def test_K8_the_migration_does_nothing_without_the_clear_table(db):
    assert totp_migration.move_clear_devices(TOTPDevice, connection) == 0
