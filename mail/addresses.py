"""M4: the addresses replies come from and go back to.

A reply is sent from the support address, named after its teammate ("Ann Lee via Support"),
and asks to be answered at a plus-address of the support address that names the conversation
and is signed: `support+c42.3f9a0c1d2b4e5f60@example.com`. Mail sent there joins conversation
42 even without threading headers (M6), and nobody can aim mail at another conversation by
changing the number. The signature is hexadecimal, because mail systems may change the case
of an address's local part (so not `django.core.signing`'s base64).
"""

from __future__ import annotations

import re
from email.utils import formataddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "csat.mail.reply-address"
SIGNATURE_LENGTH = 16
_PLUS = re.compile(r"^(?P<base>[^+@]+)\+c(?P<id>[0-9]{1,18})\.(?P<sig>[0-9a-f]+)$")


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain.lower()


def _signature(conversation_id: int) -> str:
    return salted_hmac(SALT, str(conversation_id)).hexdigest()[:SIGNATURE_LENGTH]


def reply_address(conversation_id: int) -> str:
    """The address that names conversation `conversation_id` (M4)."""
    local, domain = _split(settings.SUPPORT_ADDRESS)
    return f"{local}+c{conversation_id}.{_signature(conversation_id)}@{domain}"


def conversation_of_address(address: str) -> int | None:
    """The conversation a signed reply address names, or None (not one, or forged)."""
    local, domain = _split((address or "").strip())
    support_local, support_domain = _split(settings.SUPPORT_ADDRESS)
    found = _PLUS.match(local.lower())
    if not found or domain != support_domain or found["base"] != support_local.lower():
        return None
    conversation_id = int(found["id"])
    if not constant_time_compare(found["sig"], _signature(conversation_id)):
        return None
    return conversation_id


def is_support_address(address: str) -> bool:
    """The support address itself or one of its plus-addresses."""
    local, domain = _split((address or "").strip().lower())
    support_local, support_domain = _split(settings.SUPPORT_ADDRESS.lower())
    return domain == support_domain and local.split("+", 1)[0] == support_local


def sender(name: str | None = None) -> str:
    """The From of a message: "Ann Lee via Support <support@…>", or the support name alone.
    A header is one line: a name typed with line breaks still makes a deliverable email."""
    name = " ".join((name or "").split())
    display = f"{name} via {settings.SUPPORT_NAME}" if name else settings.SUPPORT_NAME
    return formataddr((display, settings.SUPPORT_ADDRESS))
