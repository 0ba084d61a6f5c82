"""The cast of the demo: teammates with logins, a manager, workflows and contacts, made by the
conversations services (or reused when a run before this one made them)."""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from conversations import services
from conversations.models import Contact, Teammate, Workflow
from demo.common import chunks
from demo.text import sample_text
from reports.access import manager_add

# Reserved example domains (RFC 2606): no survey or reply can reach a real person.
TEAMMATE_DOMAIN = "example.com"
CONTACT_DOMAINS = ["example.com", "example.org", "example.net"]
LEAD_SHARE = 0.35
UNNAMED_LEAD_SHARE = 0.4


@dataclass
class Cast:
    teammates: list[Teammate]
    weights: list[int]
    new_teammates: list[Teammate]
    skipped_usernames: list[str]
    workflows: list[tuple[Workflow, Mapping]]
    contacts: list[Contact]
    new_contacts: int
    # Teammates in the Managers group who read the reports; they take no conversations.
    managers: list[Teammate] = field(default_factory=list)
    new_managers: list[Teammate] = field(default_factory=list)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def teammates_make(password: str) -> tuple[list[Teammate], list[int], list[Teammate], list[str]]:
    """The demo teammates, made by `teammate_create` when missing (with `password`); those
    that exist already are reused with the password they have. A username taken by a user who
    is not a teammate is skipped. Returns the teammates, their weights, the new ones and the
    skipped usernames."""
    teammates, weights, new, skipped = [], [], [], []
    for spec in sample_text()["teammates"]:
        teammate, made = _teammate_login(spec, password)
        if teammate is None:
            skipped.append(spec["username"])
            continue
        if made:
            new.append(teammate)
        teammates.append(teammate)
        weights.append(spec["weight"])
    if not teammates:
        raise ValidationError("No demo teammate could be made: their usernames are taken.")
    return teammates, weights, new, skipped


def _teammate_login(spec: Mapping, password: str) -> tuple[Teammate | None, bool]:
    """The demo teammate of `spec`, made by `teammate_create` when missing (with `password`):
    the teammate (None when its username is taken by a user who is not a teammate) and whether
    it is new."""
    username = spec["username"]
    teammate = Teammate.objects.select_related("user").filter(user__username=username).first()
    if teammate is not None:
        return teammate, False
    try:
        teammate = services.teammate_create(
            name=spec["name"],
            email=f"{username}@{TEAMMATE_DOMAIN}",
            username=username,
            password=password,
        )
    except ValidationError:
        return None, False
    return teammate, True


def managers_make(password: str) -> tuple[list[Teammate], list[Teammate], list[str]]:
    """The demo managers: teammates (made or reused as `teammates_make` does) in the Managers
    group, so that the reports have a reader. Returns them, the new ones and the skipped
    usernames."""
    managers, new, skipped = [], [], []
    for spec in sample_text()["managers"]:
        manager, made = _teammate_login(spec, password)
        if manager is None:
            skipped.append(spec["username"])
            continue
        manager_add(user=manager.user)
        managers.append(manager)
        if made:
            new.append(manager)
    return managers, new, skipped


def workflows_make() -> list[tuple[Workflow, Mapping]]:
    """The demo workflows (found by name, made when missing), each with its sample text: the
    topics it leads to, its subject and its messages."""
    made = []
    for spec in sample_text()["workflows"]:
        workflow, _ = Workflow.objects.get_or_create(
            name=spec["name"],
            defaults={
                "rating_window_hours": spec["rating_window_hours"],
                "change_window_hours": spec["change_window_hours"],
            },
        )
        made.append((workflow, spec))
    return made


def demo_user_id(email: str, role: str) -> str | None:
    """A demo user's id in the demo company's own app (the Messenger knows them by it, W3)."""
    if role != Contact.Role.USER:
        return None
    return "acme-" + hashlib.sha256(email.encode()).hexdigest()[:10]


def contacts_make(rng: random.Random, count: int) -> tuple[list[Contact], int]:
    """`count` customers with realistic names and example.* addresses, made together by
    `contacts_create` (each checked as `contact_create` checks one); an address already in the
    database is reused. Returns them and how many were new."""
    first_names, last_names = sample_text()["first_names"], sample_text()["last_names"]
    wanted, seen = [], set()
    while len(wanted) < count:
        first, last = rng.choice(first_names), rng.choice(last_names)
        style = rng.randrange(4)
        local = {
            0: f"{_ascii(first)}.{_ascii(last)}",
            1: f"{_ascii(first)[0]}{_ascii(last)}",
            2: f"{_ascii(first)}{rng.randint(1, 99)}",
            3: f"{_ascii(first)}_{_ascii(last)}",
        }[style]
        domain = rng.choice(CONTACT_DOMAINS)
        role = Contact.Role.LEAD if rng.random() < LEAD_SHARE else Contact.Role.USER
        unnamed = role == Contact.Role.LEAD and rng.random() < UNNAMED_LEAD_SHARE
        email = f"{local}@{domain}"
        if email in seen:  # a namesake; with tens of thousands of contacts, names run out
            email = f"{local}{rng.randint(2, 999)}@{domain}"
            if email in seen:
                continue
        seen.add(email)
        wanted.append((email, role, "" if unnamed else f"{first} {last}"))
    existing: dict[str, Contact] = {}
    for chunk in chunks([email for email, _, _ in wanted]):
        for contact in Contact.objects.filter(email__in=chunk).order_by("pk"):
            existing.setdefault(contact.email, contact)
    missing = [(email, role, name) for email, role, name in wanted if email not in existing]
    made = services.contacts_create(
        {"role": role, "name": name, "email": email, "external_id": demo_user_id(email, role)}
        for email, role, name in missing
    )
    existing.update((contact.email, contact) for contact in made)
    return [existing[email] for email, _, _ in wanted], len(made)
