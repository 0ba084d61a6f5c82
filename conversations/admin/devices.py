"""K8: the staff's TOTP devices (their second factor), for the superusers to remove one (a lost
phone). A device is set up by its own user at /accounts/two-factor/, so there is no "add"; its
key (encrypted at rest) is never shown nor changed here."""

from __future__ import annotations

from django.contrib import admin

from conversations.models import TOTPDevice


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username", "user__email", "name")
    list_select_related = ("user",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = ("user", "confirmed", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False
