"""M16: customers' mail from an email provider's inbound webhook, through django-anymail.

`INBOUND_ESP` names the provider (any anymail supports: mailgun, postmark, sendgrid,
amazon_ses, …); its inbound view answers at `/inbound/<provider>/` and authenticates the post
as anymail requires (HTTP basic auth with `INBOUND_WEBHOOK_SECRET`, and the provider's own
signature where it signs, `INBOUND_SIGNING_KEY`). Every other provider's address is a 404.
anymail sends its `inbound` signal with the parsed message; `on_inbound` hands it to
`mail_receive`, the same service as the IMAP poller's. The post is answered 200 whatever the
message held (a message that cannot be a part is kept in the Inbound failures), so that the
provider does not post it again and again; only a database that cannot be reached answers
an error, and then the provider retries.
"""

from __future__ import annotations

from functools import cache

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import Http404, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

from mail.checks import NO_AUTH, webhook_authenticated
from mail.inbound import mail_receive
from mail.models import InboundFailure

SUFFIX = "_inbound_webhook"


@cache
def inbound_views() -> dict:
    """Every provider anymail takes inbound mail from, with its view."""
    return {
        pattern.name.removesuffix(SUFFIX): pattern.callback
        for pattern in anymail_urls.urlpatterns
        if pattern.name and pattern.name.endswith(SUFFIX)
    }


@csrf_exempt
def inbound_webhook(request, esp: str, variant: str = ""):
    """The chosen provider's inbound view; a 404 for any other."""
    view = inbound_views().get(esp) if esp == settings.INBOUND_ESP else None
    if view is None:
        raise Http404("Inbound mail is not taken from this provider here.")
    if not webhook_authenticated():
        return HttpResponseForbidden(NO_AUTH.format(esp=esp), content_type="text/plain")
    return view(request)


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    """Receiver of anymail's `inbound` signal."""
    mail_receive(message=event.message, source=InboundFailure.Source.WEBHOOK)
