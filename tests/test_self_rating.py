"""K11: no self-rating. A rating, change or comment from a browser signed in as staff (a user of
the admin, or any user with a teammate profile) is refused (403) on the rating page and on the
Messenger's card API, logged with the user's and the conversation's ids (never the token), and
nothing is written; a GET shows the refusal instead of the buttons and posts nothing by itself.

K12: each rating and history entry records its source (email link, Messenger, API), shown in
the admin's list of ratings as a column and a filter."""

import logging

import pytest
import time_machine
from django.core.cache import caches
from django.urls import reverse

from conversations.models import Channel
from ratings.models import Rating, RatingEvent, Source
from ratings.rules import RULE_WORDS
from ratings.services import rating_comment, rating_submit
from ratings.tokens import rating_token
from tests.factories import TeammateFactory, UserFactory
from tests.rating_pages.support import CLOSED_AT, _comment_url, _requested, _text, _url, _written

K11_WORDS = RULE_WORDS["K11"]
LATER = CLOSED_AT.replace(hour=10)
CARD = "/api/v1/messenger/ratings/"


@pytest.fixture(autouse=True)
def fresh_throttles(db):
    """The card API's throttle counts live in a cache; each test starts with none."""
    caches["shared"].clear()
    yield
    caches["shared"].clear()


@pytest.fixture(autouse=True)
def after_the_close():
    with time_machine.travel(LATER, tick=False):
        yield


@pytest.fixture
def email_request(teammate):
    return _requested(teammate)


@pytest.fixture
def messenger_request(teammate):
    return _requested(teammate, channel=Channel.MESSENGER)


def _token(request, value=None):
    return rating_token(request_id=request.pk, conversation_id=request.conversation_id, value=value)


def _staff_user():
    """A user of the admin without a teammate profile (a manager, an admin)."""
    return UserFactory(is_staff=True)


def _teammate_user():
    """A teammate whose account is not (or no longer) marked as staff: still the team's."""
    teammate = TeammateFactory()
    teammate.user.is_staff = False
    teammate.user.save(update_fields=["is_staff"])
    return teammate.user


SIGNED_IN_AS_STAFF = {"staff": _staff_user, "teammate": _teammate_user}


def _k11_logged(caplog, user, request, token):
    records = [r for r in caplog.records if r.name == "ratings.answers" and "K11" in r.message]
    assert len(records) == 1, [r.message for r in caplog.records]
    (record,) = records
    assert record.levelno == logging.WARNING
    assert f"user {user.pk}" in record.message
    assert f"conversation {request.conversation_id}" in record.message
    assert token not in record.message
    return record


# --- K11 on the rating page ----------------------------------------------------------------


@pytest.mark.parametrize("who", sorted(SIGNED_IN_AS_STAFF))
def test_K11_a_staff_browsers_rating_on_the_page_is_a_403_logged_nothing_written(
    client, email_request, caplog, who
):
    user = SIGNED_IN_AS_STAFF[who]()
    client.force_login(user)
    before = _written()
    caplog.set_level(logging.WARNING, logger="ratings.answers")
    url = _url(email_request, 5)

    response = client.post(url, {"value": 5})

    assert response.status_code == 403
    assert K11_WORDS in _text(response)
    assert "Not recorded." in _text(response)
    assert 'name="value"' not in _text(response)  # no buttons to press again
    assert _written() == before
    _k11_logged(caplog, user, email_request, url.split("/")[2])


def test_K11_a_staff_browsers_change_and_comment_on_a_customers_rating_are_refused(
    client, email_request, caplog
):
    """The customer rated; a teammate signed in opens the link and tries to change the rating,
    then to comment on it: both 403, the customer's rating as it was."""
    rating_submit(token=_token(email_request), value=1, source=Source.EMAIL)
    user = _teammate_user()
    client.force_login(user)
    before = _written()
    caplog.set_level(logging.WARNING, logger="ratings.answers")

    change = client.post(_url(email_request, 5), {"value": 5})
    comment = client.post(_comment_url(email_request), {"comment": "Great help!"})

    assert (change.status_code, comment.status_code) == (403, 403)
    assert K11_WORDS in _text(comment)
    assert _written() == before
    assert Rating.objects.get().value == 1
    assert sum("K11" in r.message for r in caplog.records) == 2


def test_K11_a_staff_browsers_get_shows_the_notice_instead_of_the_buttons(client, email_request):
    """A GET never writes (and the page's script finds nothing to post by itself: no
    `data-autosubmit`); the page says why there is nothing to press."""
    client.force_login(_staff_user())

    response = client.get(_url(email_request, 5))

    assert response.status_code == 200
    page = _text(response)
    assert K11_WORDS in page
    assert "data-autosubmit" not in page
    assert 'name="value"' not in page
    assert Rating.objects.count() == 0


def test_K11_the_boundary_a_customer_and_a_signed_in_non_staff_user_still_rate(
    client, email_request
):
    """Not signed in (the customer), or signed in as a user who is neither staff nor a
    teammate: the rating is recorded, with the email link as its source (K12)."""
    page = client.get(_url(email_request, 4))
    assert "data-autosubmit" in _text(page)
    assert client.post(_url(email_request, 4), {"value": 4}).status_code == 303

    client.force_login(UserFactory(is_staff=False))
    assert client.post(_url(email_request, 2), {"value": 2}).status_code == 303

    rating = Rating.objects.get()
    assert (rating.value, rating.source) == (2, Source.EMAIL)
    assert list(RatingEvent.objects.values_list("kind", "source")) == [
        ("rated", "email"),
        ("changed", "email"),
    ]


def test_K11_the_service_refuses_staff_whichever_face_calls_it(email_request):
    """The rule lives in the services (`by`), not in a view: a face that forgets to check
    still cannot record a teammate's rating."""
    from ratings.answers import RatingRefused

    user = _teammate_user()
    with pytest.raises(RatingRefused) as refused:
        rating_submit(token=_token(email_request), value=5, by=user)
    assert (refused.value.rule, refused.value.status) == ("K11", 403)
    rating_submit(token=_token(email_request), value=3)
    with pytest.raises(RatingRefused):
        rating_comment(token=_token(email_request), comment="Fine", by=user)
    assert Rating.objects.get().comment == ""


# --- K11 on the Messenger's card API --------------------------------------------------------


@pytest.mark.parametrize("who", sorted(SIGNED_IN_AS_STAFF))
def test_K11_a_staff_browsers_reaction_on_the_messenger_card_is_a_403_in_the_api_shape(
    client, messenger_request, caplog, who
):
    """The Messenger's page on this site sends the site's cookies with the card's posts
    (`credentials: "same-origin"`): a browser signed in as staff is refused in the API's
    error shape, nothing written."""
    user = SIGNED_IN_AS_STAFF[who]()
    client.force_login(user)
    token = _token(messenger_request)
    before = _written()
    caplog.set_level(logging.WARNING, logger="ratings.answers")

    response = client.post(
        f"{CARD}{token}/reaction/", {"value": 5}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json() == {"code": "K11", "message": K11_WORDS, "fields": {}}
    assert _written() == before
    _k11_logged(caplog, user, messenger_request, token)


def test_K11_the_messenger_card_refuses_a_staff_comment_and_says_why_on_its_read(
    client, messenger_request
):
    token = _token(messenger_request)
    assert (
        client.post(f"{CARD}{token}/reaction/", {"value": 2}, content_type="application/json")
    ).status_code == 200
    client.force_login(_staff_user())
    before = _written()

    comment = client.post(
        f"{CARD}{token}/comment/", {"comment": "All good"}, content_type="application/json"
    )
    card = client.get(f"{CARD}{token}/").json()

    assert (comment.status_code, comment.json()["code"]) == (403, "K11")
    assert _written() == before
    assert (card["can_rate"], card["can_comment"]) == (False, False)
    assert card["rate_refusal"] == {"rule": "K11", "message": K11_WORDS}
    assert card["comment_refusal"] == {"rule": "K11", "message": K11_WORDS}


# --- K12: the source of each rating -----------------------------------------------------------


def test_K12_each_face_records_its_source_on_the_rating_and_its_history(
    client, teammate, email_request, messenger_request
):
    """The rating page: the email link (or the Messenger, when the Messenger's card without
    its script posted there with `next`); the card API: the Messenger; a call of the
    services with no face: the API."""
    assert client.post(_url(email_request, 5), {"value": 5}).status_code == 303
    token = _token(messenger_request)
    reaction = client.post(
        f"{CARD}{token}/reaction/", {"value": 1}, content_type="application/json"
    )
    assert reaction.status_code == 200
    third = _requested(teammate, channel=Channel.MESSENGER)
    next_url = reverse("messenger:link", args=["a-messenger-link"])
    assert client.post(_url(third, 3), {"value": 3, "next": next_url}).status_code == 303
    fourth = _requested(teammate)
    rating_submit(token=_token(fourth), value=4)
    rating_comment(token=_token(messenger_request), comment="Slow", source=Source.MESSENGER)

    sources = dict(Rating.objects.values_list("request_id", "source"))
    assert sources == {
        email_request.pk: "email",
        messenger_request.pk: "messenger",
        third.pk: "messenger",
        fourth.pk: "api",
    }
    history = list(
        RatingEvent.objects.filter(request=messenger_request).values_list("kind", "source")
    )
    assert history == [("rated", "messenger"), ("commented", "messenger")]


def test_K12_an_unknown_source_is_refused_before_anything_is_written(email_request):
    with pytest.raises(ValueError, match="Unknown rating source"):
        rating_submit(token=_token(email_request), value=5, source="fax")
    assert Rating.objects.count() == 0


def test_K12_the_admin_lists_and_filters_ratings_by_source(admin_client, teammate):
    email, messenger = _requested(teammate), _requested(teammate, channel=Channel.MESSENGER)
    rating_submit(token=_token(email), value=5, source=Source.EMAIL)
    rating_submit(token=_token(messenger), value=1, source=Source.MESSENGER)
    url = reverse("admin:ratings_rating_changelist")

    everything = _text(admin_client.get(url))
    only_messenger = admin_client.get(url, {"source__exact": "messenger"})

    assert "column-source" in everything
    assert "Email link" in everything and "Messenger" in everything
    assert only_messenger.status_code == 200
    assert list(only_messenger.context["cl"].result_list) == [
        Rating.objects.get(source="messenger")
    ]
    detail = admin_client.get(
        reverse("admin:ratings_rating_change", args=[Rating.objects.get(source="email").pk])
    )
    assert "Email link" in _text(detail)


def test_K12_the_migration_gives_earlier_ratings_the_source_of_their_channel(teammate):
    """Ratings and history entries made before sources were kept (all `api`, the column's
    default) take their request's channel's face: the email link, the Messenger."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("ratings.migrations.0018_rating_source")
    email, messenger = _requested(teammate), _requested(teammate, channel=Channel.MESSENGER)
    rating_submit(token=_token(email), value=5)
    rating_submit(token=_token(messenger), value=2)
    assert set(Rating.objects.values_list("source", flat=True)) == {"api"}

    migration.sources_from_channels(apps, None)

    assert dict(Rating.objects.values_list("request_id", "source")) == {
        email.pk: "email",
        messenger.pk: "messenger",
    }
    assert dict(RatingEvent.objects.values_list("request_id", "source")) == {
        email.pk: "email",
        messenger.pk: "messenger",
    }
