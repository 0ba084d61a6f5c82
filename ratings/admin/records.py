"""The records of the rating spine, view only: requests, decisions, ratings and their A8
history; each written by the services alone."""

from __future__ import annotations

from django.contrib import admin
from django.utils.text import Truncator

from conversations.adminkit import (
    DeliveryColumns,
    ViewOnly,
    conversation_link,
    short_time,
)
from ratings.models import (
    Rating,
    RatingDecision,
    RatingEvent,
    RatingRequest,
)
from ratings.rules import rule_words
from ratings.scale import reaction

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


def _reaction_label(value: int | None) -> str:
    if not value:
        return "-"
    shown = reaction(value)
    return f"{shown.emoji} {shown.label} ({value}/5)"


class ViewOnlyAdmin(ViewOnly, admin.ModelAdmin):
    """Records written by the services only: nobody adds, changes or deletes them here."""


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
class RatingRequestAdmin(DeliveryColumns, ViewOnlyAdmin):
    list_display = (
        "conversation_column",
        "contact",
        "kind",
        "teammate",
        "channel",
        "app",
        "created",
        "delivered",
        "attempts",
        "last_error_short",
    )
    list_display_links = ("created",)  # the conversation column links to the conversation
    list_filter = ("kind", "channel", DeliveredFilter)
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
        return conversation_link(obj.conversation_id, str(obj.conversation))

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

    list_display = ("conversation_column", "kind", "outcome", "rule", "words", "decided")
    list_display_links = ("decided",)  # the conversation column links to the conversation
    list_filter = ("kind", "outcome", RuleFilter)
    list_select_related = ("conversation",)
    search_fields = ("conversation__subject",)
    date_hierarchy = "decided_at"
    fields = ("conversation", "close", "outcome", "rule", "words", "request", "decided_at")

    @admin.display(description="Conversation", ordering="conversation_id")
    def conversation_column(self, obj):
        return conversation_link(obj.conversation_id, str(obj.conversation))

    @admin.display(description="Why")
    def words(self, obj):
        return rule_words(obj.rule) if obj.rule else "-"

    @admin.display(description="Decided", ordering="decided_at")
    def decided(self, obj):
        return short_time(obj.decided_at)


class RatingEventInline(ViewOnly, admin.TabularInline):
    """A8: the append-only history, oldest first."""

    model = RatingEvent
    verbose_name = "history entry"
    verbose_name_plural = "History"
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "kind", "source", "reaction", "comment", "reasons_text")
    ordering = ("at", "id")

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
        "kind",
        "source",  # K12: email link, Messenger or API
        "teammate",
        "conversation_column",
        "comment_short",
        "reasons_text",
        "rated",
        "changed",
        "commented",
    )
    list_filter = ("value", "kind", "source", "teammate")
    list_select_related = ("teammate", "conversation")
    search_fields = ("comment", "conversation__subject", "request__contact__email")
    search_help_text = "Search by comment, subject or a contact's email address."
    date_hierarchy = "rated_at"
    fields = (
        "reaction",
        "source",
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
        return conversation_link(obj.conversation_id, str(obj.conversation))

    @admin.display(description="Comment")
    def comment_short(self, obj):
        return Truncator(obj.comment).chars(80) or "-"

    @admin.display(description="Rated", ordering="rated_at")
    def rated(self, obj):
        return short_time(obj.rated_at)

    @admin.display(description="Changed", ordering="changed_at")
    def changed(self, obj):
        return short_time(obj.changed_at) if obj.changed_at != obj.rated_at else "-"

    @admin.display(description="Commented", ordering="commented_at")
    def commented(self, obj):
        return short_time(obj.commented_at)

    @admin.display(description="Reasons")
    def reasons_text(self, obj):
        return ", ".join(obj.reasons) or "-"
