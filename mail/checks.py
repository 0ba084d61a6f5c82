"""M16: a chosen email provider's webhook is never open to anyone on the web.

anymail accepts an unauthenticated post when neither HTTP basic auth (`WEBHOOK_SECRET`) nor
the provider's signing key is set (it only warns). Here the webhook needs one of them: the
system check says so at start-up, and the view refuses every post until it is set.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

NO_AUTH = (
    "INBOUND_ESP is {esp!r} but the webhook has no authentication: set "
    "INBOUND_WEBHOOK_SECRET (HTTP basic auth, 'user:password') or, where the provider signs "
    "its posts, INBOUND_SIGNING_KEY."
)


def webhook_authenticated() -> bool:
    """Basic auth, or the chosen provider's signing key, is configured."""
    anymail = getattr(settings, "ANYMAIL", {}) or {}
    key = f"{settings.INBOUND_ESP.upper()}_WEBHOOK_SIGNING_KEY"
    return bool(anymail.get("WEBHOOK_SECRET") or anymail.get(key))


@register()
def check_inbound_webhook(app_configs=None, **kwargs):
    if settings.INBOUND_ESP and not webhook_authenticated():
        return [Error(NO_AUTH.format(esp=settings.INBOUND_ESP), id="mail.E001")]
    return []
