"""G1–G3: `contact_erase(*, contact, by)`, in the service, the admin and the API."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from conversations import services
from conversations.erasure import ERASED_NAME, ERASED_TEXT
from conversations.identity import user_hash
from conversations.models import Contact, Part
from ratings.figures import figures_rebuild
from ratings.links import INVALID_LINK, RatingLinkInvalid
from ratings.models import (
    DailyFigures,
    DailyReasons,
    Erasure,
    Rating,
    RatingEvent,
    RatingReason,
    RatingSettings,
)
from ratings.services import contact_erase, rating_submit
from tests.factories import ContactFactory, TeammateFactory, UserFactory, start_conversation
from tests.rating_answers.support import CLOSED_AT, _requested, comment, submit, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def teammate():
    return TeammateFactory(name="Tess Teammate")


@pytest.fixture
def erased_case(capture, teammate):
    """A user with a Messenger identity, rated terrible with a comment and reasons."""
    contact = services.contact_create(
        role="user", name="Ann Secret", email="ann.secret@example.com", external_id="u-42"
    )
    request = _requested(capture, teammate, contact=contact)
    submit(token_for(request, 1), 1, CLOSED_AT + timedelta(minutes=5))
    reasons = RatingSettings.load().reasons[:2]
    comment(token_for(request), "Ann Secret, call me on 555-0101", reasons=reasons)
    return contact, request


def _figures():
    return (
        sorted(
            DailyFigures.objects.values_list("day", "teammate_key", "requests", "answered", "v1")
        ),
        sorted(DailyReasons.objects.values_list("day", "teammate_key", "reason", "count")),
    )


def test_g1_erasure_replaces_personal_data_and_keeps_values_and_figures(erased_case):
    contact, request = erased_case
    figures_before = _figures()
    admin = UserFactory(username="ada")
    contact_erase(contact=contact, by=admin)

    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.external_id, contact.visitor_id) == (
        ERASED_NAME,
        "",
        None,
        None,
    )
    assert contact.erased_at is not None
    conversation = request.conversation
    conversation.refresh_from_db()
    assert conversation.preview == conversation.first_line == ERASED_TEXT
    bodies = set(conversation.parts.exclude(kind=Part.Kind.EVENT).values_list("body", flat=True))
    assert bodies == {ERASED_TEXT}
    assert not Part.objects.filter(body__contains="Help please").exists()
    rating = Rating.objects.get(request=request)
    assert (rating.value, rating.comment, rating.reasons) == (1, ERASED_TEXT, [])
    assert not RatingReason.objects.filter(rating=rating).exists()
    history = list(RatingEvent.objects.filter(request=request).values_list("value", "comment"))
    assert [value for value, _ in history] == [1, 1]
    assert all(text in ("", ERASED_TEXT) for _, text in history)
    assert not RatingEvent.objects.filter(comment__contains="555").exists()
    assert _figures() == figures_before  # the daily figures stay as they were
    # A rebuild recounts the same values (reasons' rows are gone with the erasure).
    figures_rebuild()
    assert _figures()[0] == figures_before[0]


def test_g1_erasure_in_a_group_conversation_erases_only_their_own_messages(capture, teammate):
    ann, bob = ContactFactory(name="Ann"), ContactFactory(name="Bob")
    conversation = start_conversation(contacts=[ann, bob], started_by=ann, body="Ann writes")
    services.conversation_reply(conversation=conversation, author=bob, body="Bob writes")
    services.conversation_reply(conversation=conversation, author=teammate, body="Hi both")
    contact_erase(contact=ann, by=None)
    bodies = dict(conversation.parts.values_list("author_contact_id", "body"))
    assert bodies[ann.pk] == ERASED_TEXT
    assert bodies[bob.pk] == "Bob writes"
    assert conversation.parts.get(author_teammate=teammate).body == "Hi both"


def test_g1_erasing_twice_is_a_clear_error_and_writes_nothing(erased_case):
    contact, _ = erased_case
    contact_erase(contact=contact, by=None)
    with pytest.raises(ValidationError, match="erased on .*nothing left to erase"):
        contact_erase(contact=Contact.objects.get(pk=contact.pk), by=None)
    assert Erasure.objects.count() == 1


def test_g2_rating_links_are_refused_as_a_bad_link_after_erasure(client, erased_case):
    contact, request = erased_case
    token = token_for(request, 4)
    contact_erase(contact=contact, by=None)
    with pytest.raises(RatingLinkInvalid, match=INVALID_LINK):
        rating_submit(token=token, value=4)
    for response in (
        client.get(reverse("ratings:rate", args=[token])),
        client.post(reverse("ratings:rate", args=[token]), {"value": 4}),
    ):
        assert response.status_code == 404
        assert INVALID_LINK in response.content.decode()
    card = client.get(f"/api/v1/messenger/ratings/{token_for(request)}/")
    assert card.status_code == 404
    assert card.json()["code"] == "invalid_link"
    assert Rating.objects.get(request=request).value == 1


def test_g2_messenger_identity_stops_working_after_erasure(settings, erased_case):
    settings.MESSENGER_IDENTITY_SECRET = "s3cret"
    contact, _ = erased_case
    lead = services.messenger_lead()
    session, lead_session = services.session_token(contact), services.session_token(lead)
    contact_erase(contact=contact, by=None)
    contact_erase(contact=lead, by=None)
    for token in (session, lead_session):
        with pytest.raises(services.IdentityRefused):
            services.session_contact(token)
    # The same user id or visitor id no longer names them: a new, empty contact.
    again = services.messenger_user(user_id="u-42", user_hash_given=user_hash("u-42", "s3cret"))
    assert again.pk != contact.pk and not again.conversations.exists()
    assert services.messenger_lead(visitor_id=lead.visitor_id).pk != lead.pk
    response = services_threads(session)
    assert response.status_code == 403


def services_threads(session):
    from django.test import Client

    return Client().get(reverse("messenger:threads"), HTTP_X_MESSENGER_SESSION=session)


def test_g3_an_audit_row_says_who_erased_whom_and_when(erased_case, time_machine):
    contact, request = erased_case
    time_machine.move_to(CLOSED_AT + timedelta(days=3), tick=False)
    admin = UserFactory(username="ada", first_name="Ada", last_name="Admin")
    erasure = contact_erase(contact=contact, by=admin)
    row = Erasure.objects.get()
    assert row == erasure
    assert (row.reason, row.contact_key, row.by, row.by_name, row.at) == (
        Erasure.Reason.REQUEST,
        contact.pk,
        admin,
        "Ada Admin",
        CLOSED_AT + timedelta(days=3),
    )
    assert (row.conversations, row.ratings, row.history) == (1, 1, 2)
    assert row.parts == 2  # the customer's message and the teammate's reply


def test_g3_erasure_is_one_transaction(erased_case, monkeypatch):
    contact, request = erased_case
    import ratings.erasure as erasure

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(erasure.Erasure.objects, "create", broken)
    with pytest.raises(RuntimeError):
        contact_erase(contact=contact, by=None)
    contact.refresh_from_db()
    assert contact.name == "Ann Secret" and contact.erased_at is None
    assert Rating.objects.get(request=request).comment.startswith("Ann Secret")
    assert request.conversation.parts.filter(body="Help please").exists()


# --- the admin ------------------------------------------------------------------------------


def _admin_user():
    from django.contrib.auth.models import Group

    user = UserFactory(username="adele", is_staff=True)
    user.groups.add(Group.objects.get(name="Admins"))
    return user


def test_g1_admin_action_asks_for_confirmation_then_erases(client, erased_case):
    contact, _ = erased_case
    client.force_login(_admin_user())
    url = reverse("admin:conversations_contact_changelist")
    data = {"action": "erase_personal_data", "_selected_action": [contact.pk]}
    page = client.post(url, data)
    assert page.status_code == 200
    assert "Erase personal data" in page.content.decode()
    assert Contact.objects.get(pk=contact.pk).erased_at is None  # nothing yet
    done = client.post(url, {**data, "confirm": "yes"}, follow=True)
    assert "Personal data erased for 1 contact" in done.content.decode()
    assert Contact.objects.get(pk=contact.pk).erased_at is not None
    again = client.post(url, {**data, "confirm": "yes"}, follow=True)
    assert "nothing left to erase" in again.content.decode()
    audit = client.get(reverse("admin:ratings_erasure_changelist"))
    assert audit.status_code == 200 and f"Contact #{contact.pk}" in audit.content.decode()
    assert client.get(reverse("admin:ratings_erasure_add")).status_code == 403


def test_g1_admin_action_is_offered_only_with_the_erasure_permission(client, erased_case):
    from django.contrib.auth.models import Group

    teammate_user = UserFactory(username="tim", is_staff=True)
    teammate_user.groups.add(Group.objects.get(name="Teammates"))
    url = reverse("admin:conversations_contact_changelist")
    client.force_login(teammate_user)
    assert "erase_personal_data" not in client.get(url).content.decode()
    client.force_login(_admin_user())
    assert "erase_personal_data" in client.get(url).content.decode()


# --- the API --------------------------------------------------------------------------------


def test_g1_api_erases_a_contact(api_login, erased_case):
    contact, _ = erased_case
    client = api_login(_admin_user())
    response = client.post(f"/api/v1/contacts/{contact.pk}/erase/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["contact"]["name"] == ERASED_NAME and body["contact"]["email"] == ""
    assert body["erasure"]["contact"] == contact.pk and body["erasure"]["ratings"] == 1
    again = client.post(f"/api/v1/contacts/{contact.pk}/erase/")
    assert again.status_code == 400 and again.json()["code"] == "erased"
    assert client.post("/api/v1/contacts/999999/erase/").status_code == 404


def test_g1_api_erasure_needs_the_permission(api_login, erased_case):
    contact, _ = erased_case
    from django.contrib.auth.models import Group

    user = UserFactory(username="tim", is_staff=True)
    user.groups.add(Group.objects.get(name="Teammates"))
    response = api_login(user).post(f"/api/v1/contacts/{contact.pk}/erase/")
    assert response.status_code == 403
    assert Contact.objects.get(pk=contact.pk).erased_at is None
