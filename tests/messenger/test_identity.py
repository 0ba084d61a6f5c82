"""Who is talking in the Messenger (conversations/identity.py, W1–W4), each rule at its
boundary: the user_hash that proves a user (W1), leads by their visitor id (W2), users matched
by their id and never by the email the page claims (W3), the session token's life (W4)."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db.models.query import QuerySet
from django.test import override_settings

from conversations import clock
from conversations.identity import (
    IDENTITY_REFUSED,
    MAX_EMAIL,
    MAX_NAME,
    MAX_USER_ID,
    SESSION_ENDED,
    IdentityRefused,
    contact_details_set,
    messenger_lead,
    messenger_user,
    session_contact,
    session_contact_id,
    session_token,
    user_hash,
)
from conversations.models import Contact
from ratings.tokens import messenger_token
from tests.factories import ContactFactory

SECRET = "test-messenger-secret"  # csat_project/settings_test.py
GOOD = user_hash("u-42", secret=SECRET)


def _email(length: int) -> str:
    """A valid address of exactly `length` characters (a 64-character local part, labels of
    at most 63 characters)."""
    local = "a" * 64
    rest = length - len(local) - 1 - (63 + 1 + 63 + 1) - len(".com")
    email = f"{local}@{'b' * 63}.{'c' * 63}.{'d' * rest}.com"
    assert len(email) == length and 0 < rest <= 63
    return email


def _user(user_id="u-42", **details):
    return messenger_user(user_id=user_id, user_hash_given=user_hash(user_id), **details)


# --- W1: the user_hash ------------------------------------------------------------------------


def test_W1_the_hash_is_hex_hmac_sha256_of_the_id_under_the_secret():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"u-42", hashlib.sha256).hexdigest()
    assert user_hash("u-42") == GOOD == expected
    assert len(expected) == 64


def test_W1_the_right_hash_gives_the_users_contact(db):
    contact = _user("u-42", email="ada@example.com", name="Ada")
    assert contact.pk is not None
    assert (contact.role, contact.external_id) == (Contact.Role.USER, "u-42")
    assert (contact.email, contact.name) == ("ada@example.com", "Ada")
    assert contact.visitor_id is None
    assert Contact.objects.get(external_id="u-42") == contact


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1"), id="one-digit-off"),
        pytest.param(user_hash("u-43", secret=SECRET), id="hash-of-another-id"),
        pytest.param(user_hash("u-42", secret="another-secret"), id="another-secret"),
        pytest.param(GOOD[:32], id="truncated"),
        pytest.param(GOOD + "0", id="one-digit-more"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(None, id="missing"),
        pytest.param(int(GOOD, 16), id="a-number"),
        pytest.param([GOOD], id="a-list"),
    ],
)
def test_W1_a_wrong_or_missing_hash_is_refused_and_nothing_is_made(db, given):
    before = Contact.objects.count()
    with pytest.raises(IdentityRefused) as refused:
        messenger_user(user_id="u-42", user_hash_given=given, email="ada@example.com")
    assert refused.value.message == IDENTITY_REFUSED
    assert Contact.objects.count() == before


def test_W1_the_hash_of_another_id_never_opens_that_ids_contact(db):
    other = _user("u-43", email="bo@example.com")
    with pytest.raises(IdentityRefused):
        messenger_user(user_id="u-42", user_hash_given=user_hash("u-43"))
    with pytest.raises(IdentityRefused):
        messenger_user(user_id="u-43", user_hash_given=user_hash("u-42"))
    assert list(Contact.objects.all()) == [other]


def test_W1_uppercase_hex_and_surrounding_spaces_are_the_same_hash(db):
    """The code compares the given hash lowercased and stripped: hex is case-blind."""
    upper = messenger_user(user_id="u-42", user_hash_given=user_hash("u-42").upper())
    spaced = messenger_user(user_id="u-42", user_hash_given=f"  {user_hash('u-42')}\n")
    assert upper == spaced
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("secret", ["", None])
def test_W1_no_secret_configured_refuses_every_user(db, secret):
    with override_settings(MESSENGER_IDENTITY_SECRET=secret):
        # Even the hash made with the empty key (what "no secret" would compute) is refused.
        with pytest.raises(IdentityRefused):
            messenger_user(user_id="u-42", user_hash_given=user_hash("u-42", secret=""))
        with pytest.raises(IdentityRefused):
            messenger_user(user_id="u-42", user_hash_given=user_hash("u-42", secret=SECRET))
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "user_id",
    [
        pytest.param(["u-42"], id="list"),
        pytest.param({"id": "u-42"}, id="dict"),
        pytest.param(True, id="bool-true"),
        pytest.param(False, id="bool-false"),
        pytest.param(4.2, id="float"),
        pytest.param(None, id="none"),
    ],
)
def test_W1_an_id_that_is_not_text_is_refused_even_with_the_hash_of_its_text(db, user_id):
    """The hash given is that of str(user_id), so only the id's type is wrong."""
    with pytest.raises(IdentityRefused):
        messenger_user(user_id=user_id, user_hash_given=user_hash(str(user_id)))
    assert not Contact.objects.exists()


def test_W1_an_integer_id_is_its_decimal_text(db):
    contact = messenger_user(user_id=42, user_hash_given=user_hash("42"))
    assert contact.external_id == "42"
    assert _user("42") == contact


def test_W1_an_id_of_255_characters_is_accepted_and_256_refused(db):
    longest, too_long = "x" * MAX_USER_ID, "x" * (MAX_USER_ID + 1)
    assert MAX_USER_ID == 255
    assert _user(longest).external_id == longest
    with pytest.raises(IdentityRefused):
        _user(too_long)
    assert list(Contact.objects.values_list("external_id", flat=True)) == [longest]


@pytest.mark.parametrize("user_id", ["", "   ", "u\x00-42"], ids=["empty", "blank", "nul"])
def test_W1_an_empty_id_or_one_with_a_nul_is_refused(db, user_id):
    with pytest.raises(IdentityRefused):
        _user(user_id)
    assert not Contact.objects.exists()


# --- W3: matched by the id only ---------------------------------------------------------------


def test_W3_a_second_visit_with_another_email_and_name_updates_them(db):
    first = _user("u-42", email="ada@old.example", name="Ada")
    again = _user("u-42", email="ada@new.example", name="Ada Lovelace")
    assert again.pk == first.pk
    first.refresh_from_db()
    assert (first.email, first.name) == ("ada@new.example", "Ada Lovelace")
    assert Contact.objects.count() == 1


def test_W3_a_visit_without_details_keeps_the_known_ones(db):
    first = _user("u-42", email="ada@example.com", name="Ada")
    _user("u-42")
    first.refresh_from_db()
    assert (first.email, first.name) == ("ada@example.com", "Ada")


def test_W3_the_claimed_email_never_matches_another_contact(db, contact, lead):
    """`contact` (a user with no external id) and `lead` own these addresses: a verified user
    claiming them is a contact of their own, and theirs are untouched."""
    mine = _user("u-42", email=contact.email, name="Mallory")
    assert mine.pk != contact.pk
    contact.refresh_from_db()
    assert (contact.external_id, contact.name) == (None, "Cora User")

    as_lead = _user("u-43", email=lead.email)
    assert as_lead.pk not in (lead.pk, mine.pk)
    lead.refresh_from_db()
    assert lead.role == Contact.Role.LEAD and lead.external_id is None
    assert Contact.objects.filter(email=contact.email).count() == 2


def test_W3_another_user_taking_a_known_email_does_not_touch_its_owner(db):
    ada = _user("u-42", email="ada@example.com")
    bo = _user("u-43", email="ada@example.com")
    assert bo.pk != ada.pk
    assert _user("u-42").pk == ada.pk


def test_W3_the_host_apps_details_are_checked_as_text(db):
    with pytest.raises(ValidationError, match="not a valid email address"):
        _user("u-42", email="not an address")
    with pytest.raises(ValidationError, match="text"):
        _user("u-42", email=["ada@example.com"])
    assert not Contact.objects.exists()


def test_W3_calling_twice_for_a_new_id_makes_one_contact(db):
    first = _user("u-42", email="ada@example.com")
    second = _user("u-42", email="ada@example.com")
    assert first.pk == second.pk
    assert Contact.objects.filter(external_id="u-42").count() == 1


def test_W3_a_create_that_loses_the_race_returns_the_winners_contact(db):
    """Two first visits at once: both look, find nothing, and create; the second create hits
    the unique external id and must return the contact the first one made (with its
    details brought up to date), not an error."""
    winner = Contact.objects.create(role=Contact.Role.USER, external_id="u-42", email="a@x.org")
    real_first = QuerySet.first
    looks = []

    def first_sees_nothing(queryset):
        looks.append(queryset.model)
        if len(looks) == 1:
            return None  # the look happened before the winner's commit
        return real_first(queryset)

    with mock.patch.object(QuerySet, "first", first_sees_nothing):
        contact = _user("u-42", email="ada@example.com", name="Ada")
    assert looks and contact.pk == winner.pk
    winner.refresh_from_db()
    assert (winner.email, winner.name) == ("ada@example.com", "Ada")
    assert Contact.objects.count() == 1


# --- W2: leads ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "visitor_id",
    ["never-seen-before", None, "", "x" * 65, 12345, ["abc"]],
    ids=["unknown", "none", "empty", "too-long", "int", "list"],
)
def test_W2_an_unknown_visitor_id_is_a_new_lead_with_a_new_id(db, visitor_id):
    lead = messenger_lead(visitor_id=visitor_id)
    assert lead.role == Contact.Role.LEAD
    assert lead.visitor_id and lead.visitor_id != visitor_id
    assert 20 <= len(lead.visitor_id) <= 64
    assert (lead.email, lead.name, lead.external_id) == ("", "", None)
    assert list(Contact.objects.all()) == [lead]


def test_W2_two_new_visitors_are_two_leads(db):
    one, two = messenger_lead(), messenger_lead()
    assert one.pk != two.pk and one.visitor_id != two.visitor_id


def test_W2_a_known_visitor_id_is_the_same_lead(db):
    lead = messenger_lead()
    assert messenger_lead(visitor_id=lead.visitor_id) == lead
    assert Contact.objects.count() == 1


def test_W2_a_visitor_id_of_64_characters_is_still_found(db):
    lead = messenger_lead()
    Contact.objects.filter(pk=lead.pk).update(visitor_id="v" * 64)
    assert messenger_lead(visitor_id="v" * 64) == lead


def test_W2_a_visitor_id_never_returns_a_user_contact(db, contact):
    Contact.objects.filter(pk=contact.pk).update(visitor_id="users-visitor-id")
    lead = messenger_lead(visitor_id="users-visitor-id")
    assert lead.pk != contact.pk
    assert lead.role == Contact.Role.LEAD
    assert lead.visitor_id != "users-visitor-id"


def test_W2_a_lead_leaves_a_valid_email_and_a_name(db):
    lead = messenger_lead()
    saved = contact_details_set(contact=lead, email="  lee@example.com ", name=" Lee ")
    lead.refresh_from_db()
    assert (saved.email, saved.name) == (lead.email, lead.name) == ("lee@example.com", "Lee")


def test_W2_leaving_only_a_name_keeps_the_email(db):
    lead = messenger_lead()
    contact_details_set(contact=lead, email="lee@example.com")
    contact_details_set(contact=lead, name="Lee")
    lead.refresh_from_db()
    assert (lead.email, lead.name) == ("lee@example.com", "Lee")


@pytest.mark.parametrize(
    "details, words",
    [
        ({"email": "lee at example"}, "'lee at example' is not a valid email address."),
        ({"email": "lee@", "name": "Lee"}, "is not a valid email address"),
        ({"email": ""}, "Leave an email address, a name, or both."),
        ({"email": "  ", "name": " "}, "Leave an email address, a name, or both."),
        ({"email": "lee@example.com\x00"}, "NUL character"),
        ({"email": 5}, "A name and an email are text."),
        ({"name": ["Lee"]}, "A name and an email are text."),
    ],
)
def test_W2_invalid_details_are_refused_in_words_and_nothing_changes(db, details, words):
    lead = messenger_lead()
    contact_details_set(contact=lead, email="first@example.com", name="First")
    with pytest.raises(ValidationError) as refused:
        contact_details_set(contact=lead, **details)
    assert words in " ".join(refused.value.messages)
    lead.refresh_from_db()
    assert (lead.email, lead.name) == ("first@example.com", "First")


def test_W2_an_email_of_254_characters_is_accepted_and_255_refused(db):
    lead = messenger_lead()
    assert MAX_EMAIL == 254
    contact_details_set(contact=lead, email=_email(254))
    with pytest.raises(ValidationError, match="at most 254 characters"):
        contact_details_set(contact=lead, email=_email(255))
    lead.refresh_from_db()
    assert lead.email == _email(254)


def test_W2_a_name_of_200_characters_is_accepted_and_201_refused(db):
    lead = messenger_lead()
    assert MAX_NAME == 200
    contact_details_set(contact=lead, name="n" * 200)
    with pytest.raises(ValidationError, match="at most 200 characters"):
        contact_details_set(contact=lead, name="m" * 201)
    lead.refresh_from_db()
    assert lead.name == "n" * 200


def test_W2_W3_a_users_details_are_not_set_by_the_visitor(db):
    user = _user("u-42", email="ada@example.com", name="Ada")
    with pytest.raises(ValidationError, match="come from the company's app"):
        contact_details_set(contact=user, email="mallory@example.com", name="Mallory")
    user.refresh_from_db()
    assert (user.email, user.name) == ("ada@example.com", "Ada")
    plain = ContactFactory()
    with pytest.raises(ValidationError):
        contact_details_set(contact=plain, email="x@example.com")


# --- W4: the session token --------------------------------------------------------------------


def test_W4_the_token_names_the_contact_without_a_query(db, contact, django_assert_num_queries):
    token = session_token(contact)
    with django_assert_num_queries(0):
        assert session_contact_id(token) == contact.pk
    assert session_contact(token) == contact


def test_W4_the_token_is_valid_12_hours_minus_a_minute_and_not_a_minute_more(db, contact):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        token = session_token(contact)
    with time_machine.travel(start + timedelta(hours=12, minutes=-1), tick=False):
        assert session_contact(token) == contact
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        with pytest.raises(IdentityRefused) as refused:
            session_contact_id(token)
        assert refused.value.message == SESSION_ENDED
        with pytest.raises(IdentityRefused):
            session_contact(token)


@override_settings(MESSENGER_SESSION_HOURS=1)
def test_W4_the_lifetime_is_MESSENGER_SESSION_HOURS(db, contact):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        token = session_token(contact)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert session_contact_id(token) == contact.pk
    with (
        time_machine.travel(start + timedelta(minutes=61), tick=False),
        pytest.raises(IdentityRefused),
    ):
        session_contact_id(token)


def _altered(token: str) -> list[str]:
    payload, _, signature = token.rpartition(":")
    flip = "A" if signature[-1] != "A" else "B"
    return [
        f"{payload}:{signature[:-1]}{flip}",  # the signature altered
        token.replace(token[0], "X" if token[0] != "X" else "Y", 1),  # the payload altered
        token + "x",
        token[:-1],
    ]


def test_W4_an_altered_token_is_refused(db, contact):
    token = session_token(contact)
    for bad in _altered(token):
        with pytest.raises(IdentityRefused) as refused:
            session_contact_id(bad)
        assert refused.value.message == SESSION_ENDED


@pytest.mark.parametrize(
    "token", ["", None, 42, ["t"], "x" * 201, "not-a-token"], ids=lambda t: type(t).__name__
)
def test_W4_what_is_not_a_token_is_refused(db, token):
    with pytest.raises(IdentityRefused):
        session_contact_id(token)


def test_W4_another_signed_token_is_not_a_session(db, contact):
    """The Messenger link's token names the same contact under another salt."""
    with pytest.raises(IdentityRefused):
        session_contact_id(messenger_token(contact_id=contact.pk))


def test_W4_the_token_of_a_deleted_contact_is_refused(db):
    gone = messenger_lead()
    token = session_token(gone)
    gone.delete()
    with pytest.raises(IdentityRefused) as refused:
        session_contact(token)
    assert refused.value.message == SESSION_ENDED
