"""Languages (L1): the language a contact is spoken to in.

- L1 A contact has a language, one of `settings.LANGUAGES` (en, fr, de, es, pt), or none
  (blank): then the installation's default (`DEFAULT_LANGUAGE`, i.e. `LANGUAGE_CODE`) is
  spoken. It is set by the API, the Messenger (`window.csatMessenger.language`, a lead's
  browser language when supported) or the admin; an unknown code is refused in words.
  A regional variant of a supported language ("fr-CA", "pt_BR") is taken as that language.

Staff pages (admin, reports, API messages) always speak the default language.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError


def supported() -> tuple[str, ...]:
    return tuple(code for code, _name in settings.LANGUAGES)


def default_language() -> str:
    return settings.LANGUAGE_CODE


def language_match(code) -> str | None:
    """The supported language `code` names ("fr", "FR", "fr-CA", "pt_BR" …), None if none."""
    if not isinstance(code, str):
        return None
    code = code.strip().lower().replace("_", "-")
    if code in supported():
        return code
    base = code.split("-", 1)[0]
    return base if base in supported() else None


def language_clean(code) -> str:
    """L1: "" (the default language) or a supported code; a `ValidationError` in words for
    anything else."""
    if code is None or (isinstance(code, str) and not code.strip()):
        return ""
    found = language_match(code)
    if found is None:
        raise ValidationError(
            f"Unknown language {code!r}: use one of {', '.join(supported())}, "
            f"or leave it blank for the default ({default_language()})."
        )
    return found


def contact_language(contact) -> str:
    """L1: the language to speak to `contact` in: its own, else the installation's default."""
    return language_match(getattr(contact, "language", "") or "") or default_language()
