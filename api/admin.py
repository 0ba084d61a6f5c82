"""Webhooks in the admin: Admins register them; their deliveries are records, shown read-only
with what became of each try."""

from django import forms
from django.contrib import admin
from django.utils.text import Truncator

from api.models import Webhook, WebhookDelivery

SECRET_HELP = (
    "Shared with the receiver: the body is signed with HMAC-SHA256 of it "
    "(header X-CSAT-Signature). At least 16 characters. Never shown again once saved."
)
SECRET_SET_HELP = (
    "A secret is set (never shown). Leave this empty to keep it, or type a new one "
    "(at least 16 characters) to replace it."
)


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    # K4: write-only. The page never carries the secret: the field is always rendered empty;
    # on a webhook that has one, empty keeps it and the help text says only that one is set.
    secret = forms.CharField(
        min_length=16,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=SECRET_HELP,
    )

    class Meta:
        model = Webhook
        fields = ("url", "secret", "description", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.pop("secret", None)
        if self.instance.pk and self.instance.secret:
            self.fields["secret"].required = False
            self.fields["secret"].help_text = SECRET_SET_HELP

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret and self.instance.pk:
            return self.instance.secret  # K4: empty keeps the current secret
        return secret


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
