"""The development mail box: in development (DEBUG, no EMAIL_URL: `make run`), every message
sent is printed on the console, as Django's console backend does, and also kept as a
`SentMail` for the admin's *Sent mail*, where its HTML part is shown sanitised in a sandboxed
frame and its links can be clicked (a survey's reactions, say). The last `KEEP` messages are
kept.
"""

from __future__ import annotations

import logging
from email import message_from_bytes, policy

import nh3
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.html import urlize
from django.utils.safestring import SafeString, mark_safe

from conversations.text import ALLOWED_TAGS, DROPPED_WITH_CONTENT, URL_SCHEMES
from mail.models import SentMail

logger = logging.getLogger(__name__)

KEEP = 500


class DevboxBackend(ConsoleBackend):
    """The console backend (the message printed on stdout), each message also kept."""

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        if sent:
            for message in email_messages:
                keep(message)
        return sent


def keep(message) -> SentMail | None:
    """Store `message` (a Django `EmailMessage`) and forget all but the last KEEP. A database
    that refuses only costs the copy: the message was sent (printed) already."""
    parsed = message_from_bytes(message.message().as_bytes(), policy=policy.default)
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    attachments = [
        f"{part.get_filename() or '(no name)'} ({part.get_content_type()})"
        for part in parsed.iter_attachments()
    ]
    try:
        with transaction.atomic():
            kept = SentMail.objects.create(
                sent_at=timezone.now(),
                from_email=str(parsed["From"] or ""),
                to=", ".join(message.recipients()),
                subject=str(parsed["Subject"] or ""),
                text=text.get_content() if text is not None else "",
                html=html.get_content() if html is not None else "",
                headers="\n".join(f"{name}: {value}" for name, value in parsed.items()),
                attachments="\n".join(attachments),
            )
            older = list(SentMail.objects.order_by("-pk").values_list("pk", flat=True)[KEEP:][:1])
            if older:
                SentMail.objects.filter(pk__lte=older[0]).delete()
    except DatabaseError as error:
        logger.warning("The sent message was not kept for the admin's Sent mail: %s", error)
        return None
    return kept


# --- what the admin shows ---------------------------------------------------------------------

# An email's formatting as a mail client shows it (inline styles, layout tables, images), with
# nothing that runs; links open in a new tab.
VIEW_TAGS = ALLOWED_TAGS | {"img", "center", "font", "caption", "col", "colgroup"}
VIEW_ATTRIBUTES = {
    "*": {"style", "align", "valign", "width", "height", "bgcolor", "dir", "lang", "title"},
    "a": {"href", "name"},
    "img": {"src", "alt"},
    "table": {"cellpadding", "cellspacing", "border", "role"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"color", "face", "size"},
}
# The frame's own policy too: no script, no request but for images.
FRAME_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src http: https:"


def html_for_view(html: str) -> str:
    """The document a sandboxed frame shows for an HTML part: sanitised with nh3, links
    opening in a new tab."""
    body = nh3.clean(
        html,
        tags=VIEW_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=VIEW_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{FRAME_POLICY}">'
        '<base target="_blank"></head>'
        '<body style="margin:8px; font-family:system-ui, sans-serif">'
        f"{body}</body></html>"
    )


def text_for_view(text: str) -> SafeString:
    """A text part, escaped, its addresses made links that open in a new tab."""
    linked = urlize(text, nofollow=True, autoescape=True)
    return mark_safe(
        nh3.clean(
            linked,
            tags={"a"},
            attributes={"a": {"href"}},
            url_schemes=URL_SCHEMES,
            link_rel="nofollow noopener noreferrer",
            set_tag_attribute_values={"a": {"target": "_blank"}},
        )
    )
