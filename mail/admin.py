"""The email channel in the admin: each mailed reply's delivery and each attachment on its part
in the thread (M2, M14), the emails sent, and the *Inbound failures* (M13): messages that
could not be made a part, kept raw with the reason, retried from here. In development, the
*Sent mail*: every message as it was sent (mail.devbox)."""

from __future__ import annotations

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.text import Truncator

from conversations.adminkit import (
    DeliveryColumns,
    FileDownload,
    ViewOnly,
    admin_url,
    conversation_link,
    short_time,
)
from conversations.panels import part_details_add
from mail.devbox import html_for_view, text_for_view
from mail.inbound import failure_retry
from mail.models import Attachment, InboundFailure, OutboundEmail, SentMail

# --- notes on the thread's parts ------------------------------------------------------------


def _delivery_note(outbound: OutboundEmail) -> str:
    if outbound.bounced_at:
        return format_html(
            '<span class="conv-mail conv-mail-failed">Bounced {}: {}</span>',
            short_time(outbound.bounced_at),
            Truncator(outbound.bounce).chars(160),
        )
    if outbound.delivered_at:
        return format_html(
            '<span class="conv-mail conv-mail-sent">Emailed {}</span>',
            short_time(outbound.delivered_at),
        )
    if outbound.last_error:
        return format_html(
            '<span class="conv-mail conv-mail-failed">Not emailed yet ({} attempts): {}</span>',
            outbound.delivery_attempts,
            Truncator(outbound.last_error).chars(160),
        )
    return format_html('<span class="conv-mail">{}</span>', "Email queued")


def _attachment_note(attachment: Attachment, site) -> str:
    if not attachment.stored:
        return format_html(
            '<span class="conv-file">Attached: {} ({}, not kept: over ATTACHMENT_MAX_BYTES)</span>',
            attachment.filename,
            filesizeformat(attachment.size),
        )
    url = admin_url(Attachment, "download", attachment.pk, site=site)
    return format_html(
        '<span class="conv-file">Attached: <a href="{}">{}</a> ({})</span>',
        url,
        attachment.filename,
        filesizeformat(attachment.size),
    )


def part_mail_details(request, parts, site) -> dict[int, list[str]]:
    """Each mailed part's delivery, each part's files (staff with the view permission only):
    two queries, whatever the length of the thread."""
    ids = [part.pk for part in parts]
    notes: dict[int, list[str]] = {}
    if request.user.has_perm("mail.view_outboundemail"):
        for outbound in OutboundEmail.objects.filter(part_id__in=ids):
            notes.setdefault(outbound.part_id, []).append(_delivery_note(outbound))
    if request.user.has_perm("mail.view_attachment"):
        for attachment in Attachment.objects.filter(part_id__in=ids):
            notes.setdefault(attachment.part_id, []).append(_attachment_note(attachment, site))
    return notes


part_details_add("mail", part_mail_details)


# --- the records ------------------------------------------------------------------------------


@admin.register(OutboundEmail)
class OutboundEmailAdmin(DeliveryColumns, ViewOnly, admin.ModelAdmin):
    list_display = ("conversation_column", "part", "created", "delivered", "attempts", "error")
    list_filter = (
        ("delivered_at", admin.EmptyFieldListFilter),
        ("bounced_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("part",)
    date_hierarchy = "created_at"
    fields = (
        "conversation",
        "part",
        "created_at",
        "delivered_at",
        "delivery_attempts",
        "last_attempt_at",
        "last_error",
        "bounced_at",
        "bounce",
    )

    @admin.display(description="Conversation", ordering="conversation_id")
    def conversation_column(self, obj):
        return conversation_link(obj.conversation_id)

    @admin.display(description="Last error or bounce")
    def error(self, obj):
        return Truncator(obj.bounce or obj.last_error).chars(80) or "-"


@admin.register(Attachment)
class AttachmentAdmin(FileDownload, ViewOnly, admin.ModelAdmin):
    """M14: files for staff only, downloaded through here (never from a public address)."""

    list_display = ("filename", "content_type", "size_text", "conversation_column", "stored")
    search_fields = ("filename",)
    list_select_related = ("part",)
    fields = ("filename", "content_type", "size", "part")

    @admin.display(description="Size", ordering="size")
    def size_text(self, obj):
        return filesizeformat(obj.size)

    @admin.display(description="Conversation")
    def conversation_column(self, obj):
        return conversation_link(obj.part.conversation_id)

    @admin.display(description="Kept", boolean=True)
    def stored(self, obj):
        return obj.stored

    def download_file(self, obj):
        if not obj.stored:
            return None
        # Always as a download of bytes: a file a customer sent may be anything.
        return obj.file, obj.filename, "application/octet-stream"


@admin.register(InboundFailure)
class InboundFailureAdmin(FileDownload, ViewOnly, admin.ModelAdmin):
    download_path = "raw"
    """M13: what could not be made a part, with why; *Retry* takes it in again."""

    list_display = ("received", "sender", "subject", "reason_short", "attempts", "resolved")
    list_filter = ("source", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("sender", "subject", "reason")
    date_hierarchy = "received_at"
    actions = ("retry",)
    fields = (
        "received_at",
        "source",
        "sender",
        "subject",
        "reason",
        "size",
        "raw_link",
        "attempts",
        "last_attempt_at",
        "resolved_at",
        "resolved_conversation",
    )
    readonly_fields = ("raw_link", "resolved_conversation")

    @admin.display(description="Received", ordering="received_at")
    def received(self, obj):
        return short_time(obj.received_at)

    @admin.display(description="Reason")
    def reason_short(self, obj):
        return Truncator(obj.reason).chars(90)

    @admin.display(description="Resolved", boolean=True, ordering="resolved_at")
    def resolved(self, obj):
        return obj.resolved_at is not None

    @admin.display(description="Conversation")
    def resolved_conversation(self, obj):
        return conversation_link(obj.resolved_part.conversation_id if obj.resolved_part else None)

    @admin.display(description="Message")
    def raw_link(self, obj):
        url = admin_url(InboundFailure, "raw", obj.pk, site=self.admin_site)
        return format_html('<a href="{}">Download the message (.eml)</a>', url)

    def download_file(self, obj):
        return obj.raw, f"inbound-{obj.pk}.eml", "message/rfc822"

    def has_retry_permission(self, request):
        return request.user.has_perm("mail.retry_inboundfailure")

    @admin.action(description="Retry the selected messages", permissions=["retry"])
    def retry(self, request, queryset):
        taken = failed = 0
        for failure in queryset.filter(resolved_at__isnull=True):
            result = failure_retry(failure=failure)
            if result.outcome == "failed":
                failed += 1
            else:
                taken += 1
        if taken:
            messages.success(request, f"{taken} message(s) taken in.")
        if failed:
            messages.error(request, f"{failed} message(s) could still not be taken in: see why.")
        if not taken and not failed:
            messages.info(request, "The selected messages were taken in already.")


@admin.register(SentMail)
class SentMailAdmin(ViewOnly, admin.ModelAdmin):
    """The development mail box: what was sent, newest first, each message readable with its
    links (its HTML sanitised, in a frame that runs nothing)."""

    list_display = ("sent", "subject_column", "to", "from_email")
    list_display_links = ("subject_column",)
    search_fields = ("to", "subject", "text")
    fields = (
        "sent",
        "from_email",
        "to",
        "subject",
        "html_part",
        "text_part",
        "attachments",
        "headers_text",
    )
    readonly_fields = ("sent", "html_part", "text_part", "headers_text")

    @admin.display(description="Sent", ordering="sent_at")
    def sent(self, obj):
        return short_time(obj.sent_at)

    @admin.display(description="Subject", ordering="subject")
    def subject_column(self, obj):
        return Truncator(obj.subject).chars(90) or "(no subject)"

    @admin.display(description="HTML part")
    def html_part(self, obj):
        if not obj.html:
            return "-"
        # No allow-scripts, no allow-same-origin: the frame runs nothing and is an origin of
        # its own; a link opens in a new tab, outside the sandbox (a survey's page works).
        return format_html(
            '<iframe class="sent-mail-html" title="The HTML part" srcdoc="{}" '
            'sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" '
            'style="width:100%; min-width:40em; height:32em; border:1px solid #ccc; '
            'resize:vertical"></iframe>',
            html_for_view(obj.html),
        )

    @admin.display(description="Text part")
    def text_part(self, obj):
        if not obj.text:
            return "-"
        return format_html(
            '<pre class="sent-mail-text" style="white-space:pre-wrap; margin:0">{}</pre>',
            text_for_view(obj.text),
        )

    @admin.display(description="Headers")
    def headers_text(self, obj):
        return format_html('<pre style="white-space:pre-wrap; margin:0">{}</pre>', obj.headers)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # K10: the HTML part's sandboxed srcdoc frame inherits this page's Content-Security-
        # Policy, so the page allows what the frame's own policy does (FRAME_POLICY: a mail's
        # inline style attributes, its remote images); scripts stay as strict as everywhere.
        policy = csp_update({"style-src-attr": ["'unsafe-inline'"], "img-src": ["http:", "https:"]})
        return policy(super().change_view)(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        if settings.EMAIL_BACKEND != "mail.devbox.DevboxBackend":
            extra_context = {
                **(extra_context or {}),
                "subtitle": "Mail is kept here in development only (DEBUG, no EMAIL_URL); "
                f"it goes out through {settings.EMAIL_BACKEND} now.",
            }
        return super().changelist_view(request, extra_context)
