"""Webhooks in the admin: Admins register them; their deliveries are records, shown read-only
with what became of each try."""

from django import forms
from django.contrib import admin
from django.utils.text import Truncator

from api import outbound
from api.models import Webhook, WebhookDelivery


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")

    class Meta:
        model = Webhook
        fields = ("url", "secret", "description", "active")

    def clean_url(self):
        """K6: a host that resolves to a refused address (or not at all) is not saved."""
        url = self.cleaned_data["url"]
        refusal = outbound.url_refusal(url)
        if refusal:
            raise forms.ValidationError(refusal, code="refused")
        return url


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("url", "description", "active", "created_at")
    list_filter = ("active",)
    fields = ("url", "secret", "description", "active")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_type",
        "webhook",
        "status",
        "attempts",
        "last_status_code",
        "short_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    list_filter = ("status", "event_type", "webhook")
    search_fields = ("event_id",)
    list_select_related = ("webhook",)
    readonly_fields = (
        "webhook",
        "event_id",
        "event_type",
        "rating_event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "last_attempt_at",
        "delivered_at",
        "created_at",
        "payload",
    )
    fields = readonly_fields

    @admin.display(description="Last error")
    def short_error(self, delivery):
        return Truncator(delivery.last_error).chars(60) or "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
