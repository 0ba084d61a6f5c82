"""The rating settings (one row, changed through `ratings.configure`, where their checks
live) and the installed Messenger apps a rating app is picked from (D3)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from conversations.adminkit import admin_url
from conversations.languages import default_language, supported
from conversations.models import Workflow
from ratings.configure import (
    QUESTION_MISSING,
    SETTINGS_FIELDS,
    WINDOWS,
    language_name,
    rating_settings_clean,
    rating_settings_update,
)
from ratings.models import (
    MessengerApp,
    RatingSettings,
)


def _language_fields() -> dict:
    """L3: a question and a reasons box for each language (the default one's are hidden)."""
    fields = {}
    for code in supported():
        name = language_name(code)
        fields[f"question_{code}"] = forms.CharField(
            label=f"Survey question ({name})",
            required=False,
            max_length=200,
            help_text="Empty: the default question (the built-in one is translated).",
        )
        fields[f"reasons_{code}"] = forms.CharField(
            label=f"Reasons for a low rating ({name})",
            required=False,
            widget=forms.Textarea(attrs={"rows": 5}),
            help_text="One per line, each standing for the default reason on the same line "
            "(as many lines). Empty: the default reasons.",
        )
    return fields


def other_languages() -> list[str]:
    return [code for code in supported() if code != default_language()]


class RatingSettingsForm(forms.ModelForm):
    """The settings' fields and widgets; every check is `ratings.configure`'s, shown beside
    the field it is about."""

    # L3: declared fields, made per language (a class body's locals() is its namespace).
    locals().update(_language_fields())

    class Meta:
        model = RatingSettings
        fields = [name for name in SETTINGS_FIELDS if name != "survey_texts"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        texts = self.instance.survey_texts or {}
        for code in supported():
            own = texts.get(code, {})
            for prefix, key in (("question", "survey_question"), ("reasons", "low_rating_reasons")):
                if f"{prefix}_{code}" in self.fields:
                    self.fields[f"{prefix}_{code}"].initial = own.get(key, "")
        for _toggle, hours, _message in WINDOWS:
            if hours in self.fields:
                # Only needed while its toggle is on: the service says so when it is.
                self.fields[hours].required = False
        if "survey_question" in self.fields:
            self.fields["survey_question"].error_messages["required"] = QUESTION_MISSING
        if "low_rating_reasons" in self.fields:
            self.fields["low_rating_reasons"].widget.attrs.update(rows=7)
        if "rating_app" in self.fields:
            self.fields["rating_app"].empty_label = "None: the standard survey"
            # Apps are removed on their own page, not from here.
            self.fields["rating_app"].widget.can_delete_related = False

    def clean(self):
        cleaned = super().clean()
        texts = {}
        for code in supported():
            own = {
                key: cleaned.pop(f"{prefix}_{code}")
                for prefix, key in (
                    ("question", "survey_question"),
                    ("reasons", "low_rating_reasons"),
                )
                if f"{prefix}_{code}" in cleaned
            }
            if any(own.values()):
                texts[code] = own
        if any(name.startswith("question_") for name in self.fields):
            cleaned["survey_texts"] = texts
        try:
            self.changes = rating_settings_clean(self.instance, cleaned)
        except ValidationError as error:
            for name, messages_ in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages_)
        return cleaned

    def _post_clean(self):
        """The model's validators already ran in `rating_settings_clean`."""


@admin.register(RatingSettings)
class RatingSettingsAdmin(admin.ModelAdmin):
    """One set of settings for the installation: the list opens it, nothing is added or
    deleted. Who may change it is a permission (the Admins group); teammates get a 403."""

    form = RatingSettingsForm
    readonly_fields = ("updated_at", "updated_by")

    def get_fieldsets(self, request, obj=None):
        return [
            (
                "Ask for conversation rating",
                {
                    "description": "The survey goes out when a teammate closes a conversation "
                    "that meets the rules (E1–E9).",
                    "fields": ("ask_users", "ask_leads", "rating_app"),
                },
            ),
            (
                "Outbound conversations",
                {"fields": ("send_direct_outbound", "send_outbound_api_workflows")},
            ),
            (
                "Rating and changing windows",
                {
                    "description": self.windows_description(request),
                    "fields": (
                        "prevent_rating_after",
                        "rating_window_hours",
                        "prevent_change_after",
                        "change_window_hours",
                    ),
                },
            ),
            (
                "Survey fatigue",
                {
                    "description": "Customers with many conversations are not asked after "
                    "every one (E9). Off by default.",
                    "fields": ("limit_asking_contact", "fatigue_days"),
                },
            ),
            ("Survey", {"fields": ("survey_question", "low_rating_reasons")}),
            (
                "Survey in other languages",
                {
                    "description": "L3: what a contact of each language reads (its surveys "
                    "and rating pages speak the contact's language, L2). Left empty, the "
                    "texts above are shown. A reason ticked in any language is recorded and "
                    "reported as the default reason on the same line.",
                    "classes": ("collapse",),
                    "fields": [
                        field
                        for code in other_languages()
                        for field in (f"question_{code}", f"reasons_{code}")
                    ],
                },
            ),
            (
                "Bot ratings",
                {
                    "description": "A conversation the bot closed with no teammate reply gets "
                    "its own survey about the bot (B). Its hours fall back to the ones above.",
                    "fields": ("ask_bot", "bot_rating_window_hours", "bot_change_window_hours"),
                },
            ),
            ("Reports", {"fields": ("happiness_target", "min_ratings_for_csat")}),
            (
                "Alerts",
                {
                    "description": "A terrible or bad rating, and a comment on one, is "
                    "emailed to the teammate rated (each can turn alerts off) and to the "
                    "managers (N1–N5).",
                    "fields": ("manager_alerts",),
                },
            ),
            ("Retention", {"fields": ("retention_days",)}),
            ("Last change", {"fields": ("updated_at", "updated_by")}),
        ]

    def windows_description(self, request):
        """W1/W2, with the workflows that carry their own hours (one query)."""
        own = (
            Workflow.objects.exclude(rating_window_hours__isnull=True, change_window_hours=None)
            .order_by()
            .count()
        )
        counted = {0: "No workflow has its", 1: "1 workflow has its"}.get(
            own, f"{own} workflows have their"
        )
        text = format_html(
            "Hours count from the close. A workflow's own hours replace these for the "
            "conversations it starts (W1); these settings are the fallback for every other "
            "conversation (W2). {} own hours.",
            counted,
        )
        if request.user.has_perm("conversations.view_workflow"):
            url = admin_url(Workflow, "changelist", site=self.admin_site)
            text = format_html('{} <a href="{}">See each workflow\'s hours</a>.', text, url)
        return text

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """There is nothing to list: open the one row."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        settings = RatingSettings.load()
        return HttpResponseRedirect(
            admin_url(RatingSettings, "change", settings.pk, site=self.admin_site)
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "title": "Rating settings",
            "subtitle": None,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        saved = rating_settings_update(by=request.user, **form.changes)
        obj.updated_at, obj.updated_by = saved.updated_at, saved.updated_by

    def response_change(self, request, obj):
        messages.success(request, "Rating settings saved.")
        return HttpResponseRedirect(request.path)


@admin.register(MessengerApp)
class MessengerAppAdmin(admin.ModelAdmin):
    """Installed Messenger apps; the settings' "Rating app" picks one of them (D3)."""

    list_display = ("name", "card_url", "installed_at")
    search_fields = ("name",)
    fields = ("name", "card_url")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "card_url":
            kwargs["assume_scheme"] = "https"  # an app's card is served over HTTPS
        return super().formfield_for_dbfield(db_field, request, **kwargs)
