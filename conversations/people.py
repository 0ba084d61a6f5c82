"""Writes on the people: contacts and teammates (with their user accounts).

Keyword arguments, one transaction each, a `ValidationError` in words for anything refused,
with nothing written; `conversations.services` offers them under their DESIGN.md names.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from conversations.languages import language_clean
from conversations.models import Contact, FormerTeammate, Teammate
from conversations.text import refuse_nul

# Contacts written by one INSERT in `contacts_create`.
BULK = 1000
TEAMMATES_GROUP = "Teammates"
ADMINS_GROUP = "Admins"
# Column widths of Teammate.name, User.username and User.email: checked here, as PostgreSQL
# refuses longer values with a DataError (a 500) where SQLite would store them.
MAX_TEAMMATE_NAME = 150
MAX_USERNAME = 150
MAX_EMAIL = 254


def email_clean(email) -> str:
    """An email address, trimmed; a `ValidationError` in words when it is not one or is longer
    than the column holds (the contacts', the users' and the Messenger's one check)."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"{email!r} is not a valid email address.") from None
    if len(email) > MAX_EMAIL:
        raise ValidationError(f"An email address is at most {MAX_EMAIL} characters.")
    return email


@transaction.atomic
def contact_create(
    *,
    role: str,
    name: str = "",
    email: str,
    external_id: str | None = None,
    language: str | None = "",
) -> Contact:
    """A contact; `external_id` is a user's id in the company's own app, by which the
    Messenger knows them (W3); `language` (L1) one of settings.LANGUAGES or blank for the
    installation's default."""
    contact = _contact_checked(
        role=role, name=name, email=email, external_id=external_id, language=language
    )
    if contact.external_id is not None:
        _external_ids_free([contact.external_id])
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contacts_create(specs: Iterable[Mapping]) -> list[Contact]:
    """Many contacts at once (each spec the keyword arguments of `contact_create`), each
    checked as `contact_create` checks it, then written in a few INSERTs: for an import, or
    the demo's tens of thousands. An external id given twice or taken already is refused; any
    refusal writes none of them."""
    contacts = [_contact_checked(**spec) for spec in specs]
    ids = [c.external_id for c in contacts if c.external_id is not None]
    twice = sorted(i for i, n in Counter(ids).items() if n > 1)
    if twice:
        raise ValidationError(f"The user id {twice[0]!r} is given twice.")
    for start in range(0, len(ids), BULK):
        _external_ids_free(ids[start : start + BULK])
    for contact in contacts:
        contact.full_clean(validate_unique=False)  # external ids: checked above, together
    return Contact.objects.bulk_create(contacts, batch_size=BULK)


def _contact_checked(
    *,
    role: str,
    name: str = "",
    email: str,
    external_id: str | None = None,
    language: str | None = "",
) -> Contact:
    """`contact_create`'s checks of one contact's own fields; the contact, unsaved."""
    language = language_clean(language)
    if role not in Contact.Role.values:
        raise ValidationError(f"Unknown contact role {role!r}: use 'user' or 'lead'.")
    email = email_clean(email)
    name = (name or "").strip()
    refuse_nul(name, "name")  # full_clean() does not check it (model CharField)
    if external_id is not None:
        external_id = str(external_id).strip()
        refuse_nul(external_id, "external_id")
        if role != Contact.Role.USER or not external_id:
            raise ValidationError("Only a user has an id in the company's app (external_id).")
    return Contact(role=role, name=name, email=email, external_id=external_id, language=language)


def _external_ids_free(external_ids: list[str]) -> None:
    taken = Contact.objects.filter(external_id__in=external_ids).values_list(
        "external_id", flat=True
    )
    for external_id in taken[:1]:
        raise ValidationError(f"A contact with the user id {external_id!r} exists already.")


@transaction.atomic
def contact_language_set(*, contact: Contact, language) -> Contact:
    """L1: the contact's language (blank: the installation's default); an unknown code is
    refused in words."""
    language = language_clean(language)
    if contact.language != language:
        contact.language = language
        contact.save(update_fields=["language"])
    return contact


@transaction.atomic
def teammate_create(
    *, name: str, email: str, username: str = "", password: str | None = None
) -> Teammate:
    """A staff user in the Teammates group, with its teammate profile."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("A teammate needs a name.")
    email = email_clean(email)
    username = (username or email).strip()
    refuse_nul(name, "name")
    refuse_nul(username, "username")
    # No full_clean() here: the lengths the columns hold, checked in words (see above).
    if len(name) > MAX_TEAMMATE_NAME:
        raise ValidationError(f"A teammate's name is at most {MAX_TEAMMATE_NAME} characters.")
    if len(username) > MAX_USERNAME:
        raise ValidationError(
            f"A username is at most {MAX_USERNAME} characters (without one, the email address "
            "is the username)."
        )
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"The username {username!r} is taken.")
    first, _, last = name.partition(" ")
    user = User(username=username, email=email, first_name=first, last_name=last, is_staff=True)
    if password:
        user.set_password(password)
    else:
        user.set_password(secrets.token_urlsafe(24))
    user.save()
    group, _ = Group.objects.get_or_create(name=TEAMMATES_GROUP)
    user.groups.add(group)
    return Teammate.objects.create(user=user, name=name)


def on_teammate_deleted(sender, instance: Teammate, **kwargs) -> None:
    """G5 (`pre_delete` of Teammate, and so of its user): keep the name under the teammate's
    id, which their rating requests and ratings keep as `teammate_key`, so that every report
    still names them."""
    FormerTeammate.objects.update_or_create(
        teammate_key=instance.pk, defaults={"name": instance.name}
    )
