"""Who is talking in the Messenger (W1–W4): a verified user of the company's own app, or a lead.

- W1 A user is named by the host app's `user_id` and proven by `user_hash`, the hex
  HMAC-SHA256 of that id under `MESSENGER_IDENTITY_SECRET`, computed on the host app's server.
  A missing or wrong hash (or no secret configured) is refused and nothing is shown.
- W2 A visitor without a user id is a lead: an anonymous `visitor_id` the widget keeps in the
  visitor's browser names them; they may leave a name and an email.
- W3 A user is matched by the id alone, never by the email the page claims (that is not
  signed); the verified user's name and email are kept up to date from the host app.
- W4 The widget's session is a signed token naming the contact, valid for
  `MESSENGER_SESSION_HOURS`; it travels in a header, never in a cookie, so no other site can
  ride on it (no CSRF) and the host page never sees it.
- K19 A `user_hash` may expire: `"<unix seconds>.<hex HMAC-SHA256 of user_id NUL unix
  seconds>"` (`user_hash_timestamped`) is refused `MESSENGER_IDENTITY_MAX_AGE_HOURS` after
  that time (and 5 minutes or more ahead of it); with `MESSENGER_IDENTITY_REQUIRE_TIMESTAMP`
  the plain, never-expiring hash is refused. A session names the contact's
  `messenger_links_epoch`, so "Revoke Messenger links" ends it (`messenger_links_revoke`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from conversations import clock, poll_versions
from conversations.languages import language_clean, language_match
from conversations.models import Contact
from conversations.people import MAX_EMAIL, email_clean  # noqa: F401 - MAX_EMAIL offered here
from conversations.text import refuse_nul

SESSION_SALT = "csat.messenger.session"
MAX_USER_ID = 255
MAX_NAME = 200
SESSION_ENDED = "Your session has ended: reload the page to start again."
TIMESTAMPED_HASH = re.compile(r"([0-9]{1,12})\.([0-9a-f]{64})")
CLOCK_SKEW_SECONDS = 300  # K19: a host server's clock may be this far ahead of ours
IDENTITY_REFUSED = "We could not verify who you are, so no conversations are shown."


class IdentityRefused(PermissionDenied):
    """W1/W2/W4 refused: the message is said to the visitor as it is."""

    def __init__(self, message: str = IDENTITY_REFUSED):
        super().__init__(message)
        self.message = message


def user_hash(user_id: str, secret: str | None = None) -> str:
    """W1: what the host app's server computes for `user_id` (see the README's snippets)."""
    key = (settings.MESSENGER_IDENTITY_SECRET if secret is None else secret).encode()
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()


def user_hash_timestamped(user_id: str, issued_at: int, secret: str | None = None) -> str:
    """K19: the `user_hash` that expires, as the host app's server computes it at
    `issued_at` (unix seconds): "<issued_at>.<hex HMAC-SHA256 of user_id, NUL, issued_at>".
    The NUL keeps it apart from any plain hash: no user id has one (W1 refuses it)."""
    return f"{int(issued_at)}.{user_hash(_stamped(user_id, int(issued_at)), secret)}"


def _stamped(user_id: str, issued_at: int) -> str:
    return f"{user_id}\x00{issued_at}"


def _user_hash_valid(user_id: str, given: str, secret: str) -> bool:
    """W1, K19: `given` proves `user_id`: the plain hash (unless a timestamp is required),
    or a timestamped one within `MESSENGER_IDENTITY_MAX_AGE_HOURS` of its time."""
    given = given.strip().lower()
    stamped = TIMESTAMPED_HASH.fullmatch(given)
    if stamped is None:
        if settings.MESSENGER_IDENTITY_REQUIRE_TIMESTAMP:
            return False
        return hmac.compare_digest(user_hash(user_id, secret), given)
    issued_at, digest = int(stamped[1]), stamped[2]
    age = clock.now().timestamp() - issued_at
    if age > settings.MESSENGER_IDENTITY_MAX_AGE_HOURS * 3600 or age < -CLOCK_SKEW_SECONDS:
        return False
    return hmac.compare_digest(user_hash(_stamped(user_id, issued_at), secret), digest)


def _details(email, name) -> tuple[str, str]:
    email = (email or "").strip() if isinstance(email, str) or email is None else None
    name = (name or "").strip() if isinstance(name, str) or name is None else None
    if email is None or name is None:
        raise ValidationError("A name and an email are text.")
    refuse_nul(name, "name")
    refuse_nul(email, "email")
    if len(name) > MAX_NAME:
        raise ValidationError(f"A name is at most {MAX_NAME} characters.")
    return (email_clean(email) if email else ""), name


def messenger_user(*, user_id, user_hash_given, email="", name="", language="") -> Contact:
    """W1, W3: the verified user's contact, created on first sight. Raises `IdentityRefused`.
    L1: `language` (the host page's `csatMessenger.language`), when given, is kept up to
    date like the name and email; an unknown code is a `ValidationError`."""
    secret = settings.MESSENGER_IDENTITY_SECRET
    if not isinstance(user_id, str | int) or isinstance(user_id, bool):
        raise IdentityRefused()
    user_id = str(user_id).strip()
    if not secret or not user_id or len(user_id) > MAX_USER_ID or "\x00" in user_id:
        raise IdentityRefused()
    if not isinstance(user_hash_given, str) or not _user_hash_valid(
        user_id, user_hash_given, secret
    ):
        raise IdentityRefused()
    email, name = _details(email, name)
    language = language_clean(language)
    contact = Contact.objects.filter(external_id=user_id).first()
    if contact is None:
        try:
            with transaction.atomic():
                return Contact.objects.create(
                    role=Contact.Role.USER,
                    external_id=user_id,
                    email=email,
                    name=name,
                    language=language,
                )
        except IntegrityError:  # another request created it a moment ago
            contact = Contact.objects.get(external_id=user_id)
    given = {"email": email, "name": name, "language": language}
    changed = [f for f, v in given.items() if v and getattr(contact, f) != v]
    if changed:
        for field in changed:
            setattr(contact, field, given[field])
        contact.save(update_fields=changed)
    return contact


def messenger_lead(*, visitor_id: str | None = None, language="", browser_language="") -> Contact:
    """W2: the lead a visitor id names, or a new lead (with a new visitor id) when it names
    none: an unknown id is never an error, the visitor simply starts afresh.

    L1: `language` (the host page's `csatMessenger.language`) is checked and kept; else a new
    lead takes its browser's language (`navigator.language`) when it is a supported one (an
    unsupported browser language is no error: the default is spoken)."""
    language = language_clean(language)
    if isinstance(visitor_id, str) and 0 < len(visitor_id) <= 64:
        contact = Contact.objects.filter(visitor_id=visitor_id, role=Contact.Role.LEAD).first()
        if contact is not None:
            if language and contact.language != language:
                contact.language = language
                contact.save(update_fields=["language"])
            return contact
    language = language or language_match(browser_language) or ""
    return Contact.objects.create(
        role=Contact.Role.LEAD, visitor_id=secrets.token_urlsafe(24), language=language
    )


@transaction.atomic
def contact_details_set(*, contact: Contact, email="", name="") -> Contact:
    """W2: a lead leaves their name and email (a verified user's come from the host app)."""
    if contact.role != Contact.Role.LEAD:
        raise ValidationError("A signed-in user's name and email come from the company's app.")
    email, name = _details(email, name)
    if not email and not name:
        raise ValidationError("Leave an email address, a name, or both.")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    fields = [f for f, v in (("email", email), ("name", name)) if v]
    contact.email, contact.name = email or contact.email, name or contact.name
    contact.save(update_fields=fields)
    return contact


def messenger_links_revoke(*, contact_ids) -> int:
    """K19: every Messenger link made so far for these contacts is refused from now on (a
    new link works); how many contacts. The number the links carry is raised in one
    statement, so two revokes at once both count."""
    contact_ids = list(contact_ids)
    revoked = Contact.objects.filter(pk__in=contact_ids).update(
        messenger_links_epoch=F("messenger_links_epoch") + 1
    )
    poll_versions.bump(contact_ids=contact_ids)  # H4: after the write (an update(), no signal)
    return revoked


def session_token(contact: Contact) -> str:
    """W4: the widget's credential for this contact. K19: it carries the contact's
    `messenger_links_epoch`, so "Revoke Messenger links" ends the sessions too."""
    payload = {"c": contact.pk, "e": contact.messenger_links_epoch}
    return signing.dumps(payload, salt=SESSION_SALT, compress=False)


# W4: the session tokens this process has verified, with the time each was signed: a widget
# polls with the same token every few seconds, and its signature's check (HMAC, base64, JSON:
# ~40 µs) is a good part of a 304 that reads no database (H4). Only its age is checked again.
_VERIFIED: dict[str, tuple[int, int, int]] = {}
VERIFIED_MAX = 10_000


def _session_payload(token) -> tuple[int, int]:
    """W4: (contact id, K19 revoke number) of a session token; `IdentityRefused` when it was
    altered or has expired. A session made before K19 counts as number 0."""
    max_age = settings.MESSENGER_SESSION_HOURS * 3600
    known = _VERIFIED.get(token) if isinstance(token, str) else None
    if known is not None:
        contact_id, epoch, signed_at = known
        if time.time() - signed_at <= max_age:  # as signing.loads: expired when older
            return contact_id, epoch
        _VERIFIED.pop(token, None)
    if isinstance(token, str) and 0 < len(token) <= 200:
        try:
            payload = signing.loads(token, salt=SESSION_SALT, max_age=max_age)
            contact_id, epoch = int(payload["c"]), int(payload.get("e", 0))
            signed_at = signing.b62_decode(token.rsplit(":", 2)[-2])
        except (signing.BadSignature, AttributeError, KeyError, TypeError, ValueError):
            pass
        else:
            if len(_VERIFIED) >= VERIFIED_MAX:
                _VERIFIED.clear()
            _VERIFIED[token] = (contact_id, epoch, signed_at)
            return contact_id, epoch
    raise IdentityRefused(SESSION_ENDED)


def session_contact_id(token) -> int:
    """W4: the contact id a session token names, read without a query; `IdentityRefused`
    when it was altered or has expired."""
    return _session_payload(token)[0]


def session_contact_of(contact_id: int, *, epoch: int | None = None) -> Contact | None:
    """W4, G2: the contact a session names, None when gone or erased (the session ended);
    K19: with `epoch`, None too when the contact's links were revoked since."""
    contacts = Contact.objects.filter(pk=contact_id, erased_at__isnull=True)
    if epoch is not None:
        contacts = contacts.filter(messenger_links_epoch=epoch)
    return contacts.first()


def session_contact(token) -> Contact:
    """W4: the contact a session token names; `IdentityRefused` when altered or expired,
    or (K19) when the contact's links were revoked after it was made."""
    contact_id, epoch = _session_payload(token)
    contact = session_contact_of(contact_id, epoch=epoch)
    if contact is None:
        raise IdentityRefused(SESSION_ENDED)
    return contact
