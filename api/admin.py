"""Webhooks in the admin: Admins register them; their deliveries are records, shown read-only
with what became of each try. API tokens (K2): listed by prefix, their keys shown once."""

from django import forms
from django.contrib import admin, messages
from django.utils.text import Truncator

from api import outbound, tokens
from api.models import ApiToken, Webhook, WebhookDelivery

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

    def clean_url(self):
        """K6: a host that resolves to a refused address (or not at all) is not saved."""
        url = self.cleaned_data["url"]
        refusal = outbound.url_refusal(url)
        if refusal:
            raise forms.ValidationError(refusal, code="refused")
        return url

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


class ApiTokenAddForm(forms.ModelForm):
    """K2: a new token: whose, and after how many days it stops working (empty: never)."""

    expires_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=tokens.MAX_EXPIRES_DAYS,
        help_text="Empty: the token never expires.",
    )

    class Meta:
        model = ApiToken
        fields = ("user",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An inactive user's token would be refused (K1): none is made for one.
        self.fields["user"].queryset = self.fields["user"].queryset.filter(is_active=True)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """K2: tokens by prefix, user, created, expires, last used, never a key (only its hash is
    kept); adding or rotating one shows its key once, in a message; revoking is deleting."""

    shown = ("token_key", "user", "created", "expiry", "last_used_at")
    list_display = shown
    list_select_related = ("user",)
    search_fields = ("token_key", "user__username")
    actions = ["rotate"]

    def get_fields(self, request, obj=None):
        return ("user", "expires_days") if obj is None else self.shown

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.shown

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False  # a token is made, rotated or deleted, never edited

    def has_rotate_permission(self, request):
        return self.has_add_permission(request) and self.has_delete_permission(request)

    def save_model(self, request, obj, form, change):
        key = tokens.token_prepare(obj, expires_days=form.cleaned_data.get("expires_days"))
        obj.save(force_insert=True)
        self._show_key(request, obj, key)

    @admin.action(
        description="Rotate the selected tokens (each new key shown once)", permissions=["rotate"]
    )
    def rotate(self, request, queryset):
        for token in queryset.select_related("user"):
            key = tokens.token_replace(token)
            self.log_change(request, token, "Rotated: a new key, the old one refused.")
            self._show_key(request, token, key)

    def _show_key(self, request, token, key):
        self.message_user(
            request,
            f"The key of {token.user}'s token {token.token_key}… is {key}. {tokens.SHOWN_ONCE}",
            messages.WARNING,
        )
