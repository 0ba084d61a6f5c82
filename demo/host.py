"""The demo host page (`make run` prints its address): a stand-in for a company's own web app
that embeds the Messenger with its one script tag. One picks a demo user (signed with the
identity secret, as the company's server would sign them, W1) or a lead (W2) and sees the
widget working against the demo data. Served only when MESSENGER_DEMO_HOST is on (by default
under DEBUG); open it on another origin than SITE_URL (`make run` prints localhost's), so the
widget runs cross-origin as it does on a real site."""

from __future__ import annotations

from csp.decorators import csp_update
from django.conf import settings
from django.db.models import Max
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from conversations.identity import user_hash
from conversations.models import Channel, Contact
from messenger.origins import site_origin

SHOWN = 8


def demo_users() -> list[Contact]:
    """Users of the demo company with the most recent Messenger conversations."""
    return list(
        Contact.objects.filter(
            role=Contact.Role.USER,
            external_id__isnull=False,
            conversations__channel=Channel.MESSENGER,
        )
        .annotate(latest=Max("conversations__created_at"))
        .order_by("-latest", "pk")[:SHOWN]
    )


@require_GET
def host_page(request):
    if not settings.MESSENGER_DEMO_HOST:
        raise Http404("The demo host page is off (MESSENGER_DEMO_HOST).")
    # K10: the page runs under the site's Content-Security-Policy, as a careful company's
    # would: widget.js and its iframe come from SITE_URL, another origin than this page's.
    policy = csp_update({"script-src": [site_origin()], "frame-src": [site_origin()]})
    return policy(_host_page)(request)


def _host_page(request):
    users = demo_users()
    chosen = request.GET.get("as", "")
    identity, who = {}, None
    if chosen != "lead":
        who = next((u for u in users if str(u.pk) == chosen), users[0] if users else None)
    if who is not None:
        identity = {
            "user_id": who.external_id,
            "email": who.email,
            "name": who.name,
            "user_hash": user_hash(who.external_id),
        }
    return render(
        request,
        "demo/host.html",
        {
            "users": users,
            "who": who,
            "identity": identity,
            "widget_src": f"{settings.SITE_URL}/messenger/widget.js",
        },
    )
