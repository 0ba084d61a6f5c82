"""The admin of the rating spine: the settings (one row), the installed Messenger apps, the
records (requests, decisions, ratings and their history: view only), and the rating panel of
the inbox's conversation page ("why did this customer get no survey?").

The panel is added to the inbox's page through the hook the conversations app offers
(`conversations.panels`), so that `conversations` never needs to know about ratings; what it
shows is read by `ratings.selectors.rating_panel`, and the settings are changed by
`ratings.configure`, where their checks live.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from conversations.models import Conversation, Workflow
from conversations.panels import ConversationPanel, conversation_panel_add
from ratings.configure import QUESTION_MISSING, rating_settings_clean, rating_settings_update
from ratings.models import (
    MessengerApp,
    Rating,
    RatingDecision,
    RatingEvent,
    RatingRequest,
    RatingSettings,
)
from ratings.rules import rule_words
from ratings.scale import reaction
from ratings.selectors import rating_panel

# Short names of the rules for the decision list's filter (the full words: `rule_words`).
RULE_NAMES = {
    "E1": "E1 · off for the role",
    "E2": "E2 · no teammate / origin off",
    "E3": "E3 · too short",
    "E4": "E4 · closed too late",
    "E5": "E5 · group conversation",
    "E6": "E6 · already sent",
    "E8": "E8 · closed quietly",
    "reopened": "Reopened before sending",
}


def _admin_url(model, view: str, *args, site=admin.site) -> str:
    opts = model._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_{view}",
        args=[quote(arg) for arg in args],
        current_app=site.name,
    )


def _conversation_link(conversation_id: int, label: str):
    return format_html(
        '<a href="{}">{}</a>', _admin_url(Conversation, "change", conversation_id), label
    )


def _short(moment: datetime | None) -> str:
    """A compact local time for list columns (the lists have many of them)."""
    if moment is None:
        return "-"
    return formats.date_format(timezone.localtime(moment), "j M Y, H:i")


def _reaction_label(value: int | None) -> str:
    if not value:
        return "-"
    shown = reaction(value)
    return f"{shown.emoji} {shown.label} ({value}/5)"


# --- settings: one row ----------------------------------------------------------------------------


class RatingSettingsForm(forms.ModelForm):
    """The settings' fields and widgets; every check is `ratings.configure`'s, shown beside
    the field it is about."""

    class Meta:
        model = RatingSettings
        fields = (
            "ask_users",
            "ask_leads",
            "rating_app",
            "send_direct_outbound",
            "send_outbound_api_workflows",
            "prevent_rating_after",
            "rating_window_hours",
            "prevent_change_after",
            "change_window_hours",
            "survey_question",
            "low_rating_reasons",
            "happiness_target",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for hours in ("rating_window_hours", "change_window_hours"):
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
                    "that meets the rules (E1–E8).",
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
            ("Survey", {"fields": ("survey_question", "low_rating_reasons")}),
            ("Reports", {"fields": ("happiness_target",)}),
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
            url = _admin_url(Workflow, "changelist", site=self.admin_site)
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
            _admin_url(RatingSettings, "change", settings.pk, site=self.admin_site)
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


# --- the records: view only ----------------------------------------------------------------------


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records written by the services only: nobody adds, changes or deletes them here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveredFilter(admin.SimpleListFilter):
    title = "delivered"
    parameter_name = "delivered"

    def lookups(self, request, model_admin):
        return [("yes", "Delivered"), ("no", "Not delivered yet")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(delivered_at__isnull=True)
        return queryset


@admin.register(RatingRequest)
class RatingRequestAdmin(ViewOnlyAdmin):
    list_display = (
        "conversation_column",
        "contact",
        "teammate",
        "channel",
        "app",
        "created",
        "delivered",
        "attempts",
        "last_error_short",
    )
    list_display_links = ("created",)  # the conversation column links to the conversation
    list_filter = ("channel", DeliveredFilter)
    list_select_related = ("conversation", "contact", "teammate", "app")
    search_fields = ("contact__email", "conversation__subject")
    search_help_text = "Search by a contact's email address or the conversation's subject."
    date_hierarchy = "created_at"
    fields = (
        "conversation",
        "contact",
        "teammate",
        "channel",
        "app",
        "created_at",
        "delivered_at",
        "delivery_attempts",
        "last_attempt_at",
        "last_error",
    )

    @admin.display(description="Conversation", ordering="conversation_id")
    def conversation_column(self, obj):
        return _conversation_link(obj.conversation_id, str(obj.conversation))

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return _short(obj.created_at)

    @admin.display(description="Delivered", ordering="delivered_at")
    def delivered(self, obj):
        return _short(obj.delivered_at)

    @admin.display(description="Attempts", ordering="delivery_attempts")
    def attempts(self, obj):
        return obj.delivery_attempts

    @admin.display(description="Last error")
    def last_error_short(self, obj):
        return Truncator(obj.last_error).chars(60) or "-"


class RuleFilter(admin.SimpleListFilter):
    title = "rule"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        return list(RULE_NAMES.items())

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(rule=self.value())
        return queryset


@admin.register(RatingDecision)
class RatingDecisionAdmin(ViewOnlyAdmin):
    """What each close decided (D5): a request sent, or the rule that stopped it."""

    list_display = ("conversation_column", "outcome", "rule", "words", "decided")
    list_display_links = ("decided",)  # the conversation column links to the conversation
    list_filter = ("outcome", RuleFilter)
    list_select_related = ("conversation",)
    search_fields = ("conversation__subject",)
    date_hierarchy = "decided_at"
    fields = ("conversation", "close", "outcome", "rule", "words", "request", "decided_at")

    @admin.display(description="Conversation", ordering="conversation_id")
    def conversation_column(self, obj):
        return _conversation_link(obj.conversation_id, str(obj.conversation))

    @admin.display(description="Why")
    def words(self, obj):
        return rule_words(obj.rule) if obj.rule else "-"

    @admin.display(description="Decided", ordering="decided_at")
    def decided(self, obj):
        return _short(obj.decided_at)


class RatingEventInline(admin.TabularInline):
    """A8: the append-only history, oldest first."""

    model = RatingEvent
    verbose_name = "history entry"
    verbose_name_plural = "History"
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "kind", "reaction", "comment", "reasons_text")
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Reaction")
    def reaction(self, obj):
        return _reaction_label(obj.value)

    @admin.display(description="Reasons")
    def reasons_text(self, obj):
        return ", ".join(obj.reasons) or "-"


@admin.register(Rating)
class RatingAdmin(ViewOnlyAdmin):
    list_display = (
        "reaction",
        "teammate",
        "conversation_column",
        "comment_short",
        "reasons_text",
        "rated",
        "changed",
        "commented",
    )
    list_filter = ("value", "teammate")
    list_select_related = ("teammate", "conversation")
    search_fields = ("comment", "conversation__subject", "request__contact__email")
    search_help_text = "Search by comment, subject or a contact's email address."
    date_hierarchy = "rated_at"
    fields = (
        "reaction",
        "teammate",
        "conversation",
        "request",
        "comment",
        "reasons_text",
        "rated_at",
        "changed_at",
        "commented_at",
    )
    inlines = (RatingEventInline,)

    @admin.display(description="Rating", ordering="value")
    def reaction(self, obj):
        return _reaction_label(obj.value)

    @admin.display(description="Conversation", ordering="conversation_id")
    def conversation_column(self, obj):
        return _conversation_link(obj.conversation_id, str(obj.conversation))

    @admin.display(description="Comment")
    def comment_short(self, obj):
        return Truncator(obj.comment).chars(80) or "-"

    @admin.display(description="Rated", ordering="rated_at")
    def rated(self, obj):
        return _short(obj.rated_at)

    @admin.display(description="Changed", ordering="changed_at")
    def changed(self, obj):
        return _short(obj.changed_at) if obj.changed_at != obj.rated_at else "-"

    @admin.display(description="Commented", ordering="commented_at")
    def commented(self, obj):
        return _short(obj.commented_at)

    @admin.display(description="Reasons")
    def reasons_text(self, obj):
        return ", ".join(obj.reasons) or "-"


# --- the conversation page: why (no) survey ------------------------------------------------------


def _change_url_if_allowed(user, model, pk, site) -> str:
    opts = model._meta
    if pk is None or not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return ""
    return _admin_url(model, "change", pk, site=site)


def rating_panel_context(request, conversation, site) -> dict:
    """The latest close's decision (sent, or skipped with its rule in plain words), the
    request, the rating and its history, the decision of every close, and links to the
    records for whoever may view them."""
    panel = rating_panel(conversation=conversation)
    rating = panel.rating
    return {
        "conversation": conversation,
        "rating_panel": panel,
        "request_url": _change_url_if_allowed(
            request.user, RatingRequest, panel.request.pk if panel.request else None, site
        ),
        "rating_url": _change_url_if_allowed(
            request.user, Rating, rating.pk if rating else None, site
        ),
    }


conversation_panel_add(
    ConversationPanel(
        name="rating", template="admin/ratings/rating_panel.html", context=rating_panel_context
    )
)
