"""The teammate API on people: contacts (create, read, list with an email search) and
teammates (read, list). The `api_token` command that hands out tokens: test_api_tokens.py."""

import pytest
from django.contrib.auth.models import Group

from conversations.models import Contact
from tests.factories import ContactFactory, TeammateFactory


@pytest.fixture
def api(api_login, teammate):
    return api_login(teammate.user)


def test_create_a_contact(api):
    response = api.post(
        "/api/v1/contacts/",
        {"role": "lead", "name": " Lee ", "email": "lee@example.com"},
        format="json",
    )
    assert response.status_code == 201
    contact = Contact.objects.get(pk=response.json()["id"])
    assert (contact.role, contact.name, contact.email) == ("lead", "Lee", "lee@example.com")


def test_W3_a_user_is_created_with_their_id_in_the_company_app(api):
    body = {"role": "user", "email": "uma@example.com", "external_id": "acme-42"}
    response = api.post("/api/v1/contacts/", body, format="json")
    assert response.status_code == 201
    assert response.json()["external_id"] == "acme-42"
    assert Contact.objects.get(external_id="acme-42").email == "uma@example.com"
    again = api.post("/api/v1/contacts/", {**body, "email": "u2@example.com"}, format="json")
    assert again.status_code == 400
    assert "acme-42" in again.json()["message"]
    assert Contact.objects.count() == 1


def test_W3_only_a_user_has_an_id_in_the_company_app(api):
    body = {"role": "lead", "email": "lee@example.com", "external_id": "acme-7"}
    response = api.post("/api/v1/contacts/", body, format="json")
    assert response.status_code == 400
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"role": "vip", "email": "a@example.com"}, "role"),
        ({"role": "user", "email": "not-an-email"}, "email"),
        ({"role": "user", "email": 12}, "email"),
        ({"role": "user"}, "email"),
        ({"role": "user", "email": "a@example.com", "phone": "1"}, "phone"),
    ],
)
def test_create_a_contact_refuses_bad_fields_by_name(api, body, field):
    response = api.post("/api/v1/contacts/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not Contact.objects.exists()


def test_read_and_search_contacts_by_email(api):
    cora = ContactFactory(email="cora@example.com")
    ContactFactory(email="dan@other.org")
    response = api.get(f"/api/v1/contacts/{cora.pk}/")
    assert response.status_code == 200 and response.json()["email"] == "cora@example.com"
    found = api.get("/api/v1/contacts/?email=EXAMPLE.com").json()["results"]
    assert [row["id"] for row in found] == [cora.pk]
    assert len(api.get("/api/v1/contacts/").json()["results"]) == 2


def test_teammates_list_and_read(api, teammate, other_teammate):
    rows = api.get("/api/v1/teammates/").json()["results"]
    assert {(row["id"], row["name"], row["email"]) for row in rows} == {
        (teammate.pk, "Tess Mate", "tess@example.com"),
        (other_teammate.pk, "Otto Other", "otto@example.com"),
    }
    assert api.get(f"/api/v1/teammates/{teammate.pk}/").json()["name"] == "Tess Mate"
    assert api.get("/api/v1/teammates/424242/").status_code == 404


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/api/v1/contacts/"),
        ("post", "/api/v1/contacts/"),
        ("get", "/api/v1/contacts/{contact}/"),
        ("get", "/api/v1/teammates/"),
        ("get", "/api/v1/teammates/{teammate}/"),
    ],
)
def test_people_permissions(api_client, api_login, teammate, contact, api_admin, method, url):
    url = url.format(contact=contact.pk, teammate=teammate.pk)
    body = {"role": "user", "email": "new@example.com"}
    assert getattr(api_client, method)(url, body, format="json").status_code == 401
    outsider = TeammateFactory()
    outsider.user.groups.set([Group.objects.get(name="Managers")])
    assert getattr(api_login(outsider.user), method)(url, body, format="json").status_code == 403
    for user in (teammate.user, api_admin.user):
        expected = 201 if method == "post" else 200
        body["email"] = f"new-{user.pk}@example.com"
        response = getattr(api_login(user), method)(url, body, format="json")
        assert response.status_code == expected


def test_a_wrong_token_is_a_401(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get("/api/v1/teammates/")
    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "message": "Invalid token.",
        "fields": {},
    }
