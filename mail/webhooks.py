"""M16: customers' mail from an email provider's inbound webhook, through django-anymail.

`INBOUND_ESP` names the provider (any anymail supports: mailgun, postmark, sendgrid,
amazon_ses, …); its inbound view answers at `/inbound/<provider>/` and authenticates the post
as anymail requires (HTTP basic auth with `INBOUND_WEBHOOK_SECRET`, and the provider's own
signature where it signs, `INBOUND_SIGNING_KEY`). Every other provider's address is a 404.
anymail sends its `inbound` signal with the parsed message; `on_inbound` hands it to
`mail_receive`, the same service as the IMAP poller's. The post is answered 200 whatever the
message held (a message that cannot be a part is kept in the Inbound failures), so that the
provider does not post it again and again; so is a post anymail cannot read once it is
authenticated (a message its parser chokes on): the post is kept as it came. Only a database
that cannot be reached answers an error, and then the provider retries.
"""

from __future__ import annotations

import logging
from functools import cache

from anymail import urls as anymail_urls
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import DatabaseError
from django.http import Http404, HttpResponse, HttpResponseForbidden, RawPostDataException
from django.views.decorators.csrf import csrf_exempt

from mail.checks import NO_AUTH, webhook_authenticated
from mail.inbound import failure_keep, mail_receive
from mail.models import InboundFailure

logger = logging.getLogger(__name__)

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
    try:
        return view(request)
    except (SuspiciousOperation, ImproperlyConfigured, DatabaseError):
        raise  # refused (a 400), misconfigured, or the database is down: the provider retries
    except Exception as error:  # noqa: BLE001 - a post the provider's parser cannot read
        logger.exception("Inbound post from %s could not be read", esp)
        failure_keep(
            raw=_posted(request),
            source=InboundFailure.Source.WEBHOOK,
            reason=f"The {esp} post could not be read: {type(error).__name__}: {error}",
        )
        return HttpResponse()


def _posted(request) -> bytes:
    """The post as it came; its form fields when Django has read the body already."""
    try:
        return request.body
    except RawPostDataException:
        return request.POST.urlencode().encode()


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    """Receiver of anymail's `inbound` signal."""
    mail_receive(message=event.message, source=InboundFailure.Source.WEBHOOK)
