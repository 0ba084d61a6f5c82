"""G1–G3 in the admin: "Erase personal data…" on the contacts list (a confirmation page, then
`contact_erase` for each selected contact), and the audit rows, read only.

The contacts' admin belongs to the conversations app, which knows nothing of ratings: the
action is registered into it through `conversations.panels.contact_action_add`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.html import format_html

from conversations.adminkit import ViewOnly, admin_url, short_time
from conversations.models import Contact
from conversations.panels import ContactAction, contact_action_add
from ratings import services
from ratings.models import Erasure

ERASE_PERMISSION = "ratings.add_erasure"


def erase_personal_data(modeladmin, request, queryset):
    """A page naming the selected contacts and what erasure does; its form posts back here
    with `confirm`, and each contact is erased (one transaction each; one refused, say
    erased already, is reported, the others are done)."""
    contacts = list(queryset.order_by("pk"))
    if request.POST.get("confirm") == "yes":
        done = []
        for contact in contacts:
            label = str(contact)
            try:
                services.contact_erase(contact=contact, by=request.user)
            except ValidationError as error:
                modeladmin.message_user(request, f"{label}: {error.messages[0]}", messages.ERROR)
            else:
                done.append(label)
        if done:
            modeladmin.message_user(
                request,
                f"Personal data erased for {len(done)} contact{'s' if len(done) != 1 else ''}: "
                + ", ".join(done),
                messages.SUCCESS,
            )
        return None
    return TemplateResponse(
        request,
        "admin/conversations/contact/erase_confirm.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase personal data",
            "opts": modeladmin.opts,
            "contacts": contacts,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


contact_action_add(
    ContactAction(
        name="erase_personal_data",
        description="Erase personal data…",
        permission=ERASE_PERMISSION,
        function=erase_personal_data,
    )
)


@admin.register(Erasure)
class ErasureAdmin(ViewOnly, admin.ModelAdmin):
    """G3: who erased whose personal data and when (and the retention runs), read only."""

    list_display = (
        "when",
        "reason",
        "contact_column",
        "by_name",
        "conversations",
        "parts",
        "ratings",
        "history",
    )
    list_filter = ("reason",)
    search_fields = ("=contact_key", "by_name")
    search_help_text = "Search by a contact's id or the name of who erased."
    date_hierarchy = "at"
    fields = (
        "reason",
        "contact_key",
        "by",
        "by_name",
        "at",
        "conversations",
        "parts",
        "ratings",
        "history",
    )

    @admin.display(description="When", ordering="at")
    def when(self, obj):
        return short_time(obj.at)

    @admin.display(description="Contact", ordering="contact_key")
    def contact_column(self, obj):
        if obj.contact_key is None:
            return "-"
        url = admin_url(Contact, "change", obj.contact_key, site=self.admin_site)
        return format_html('<a href="{}">Contact #{}</a>', url, obj.contact_key)
