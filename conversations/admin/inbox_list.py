"""The inbox's list (I1–I3, `conversations.inbox`): the tabs with their counts, the rows,
search in the messages, and the bulk actions, each through `conversations.services`."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from conversations import clock, inbox, services
from conversations.admin.base import errors_text
from conversations.adminkit import local_time
from conversations.forms import QUICK_SNOOZES, SnoozeForm, tomorrow_morning
from conversations.models import State
from conversations.panels import list_marks
from conversations.selectors import no_teammate_message, teammate_of


class InboxTab(admin.SimpleListFilter):
    """I1: the tabs over the list (drawn above it, not in the side bar)."""

    title = "inbox"
    parameter_name = "view"
    template = "admin/conversations/conversation/tab_filter.html"

    @classmethod
    def chosen(cls, request, teammate) -> str:
        key = request.GET.get(cls.parameter_name, "")
        if key in inbox.TAB_KEYS:
            return key
        return inbox.default_tab(teammate, searching=bool(request.GET.get("q", "").strip()))

    def lookups(self, request, model_admin):
        return [(tab.key, tab.label) for tab in (*inbox.TABS, inbox.ALL)]

    def queryset(self, request, queryset):
        teammate = teammate_of(request.user)
        return queryset.filter(inbox.tab_filter(self.chosen(request, teammate), teammate))


class InboxChangeList(ChangeList):
    """The page's rows with what other apps mark on them (the rating), read once a page."""

    def get_queryset(self, request, exclude_parameters=None):
        """I3: a search's results best first, unless a column was chosen to sort by (the
        rank exists once the search has run, after the list's own ordering)."""
        queryset = super().get_queryset(request, exclude_parameters)
        if self.query.strip() and ORDER_VAR not in self.params:
            queryset = queryset.order_by("-search_rank", *queryset.query.order_by)
        return queryset

    def get_results(self, request):
        super().get_results(request)
        marks = list_marks(list(self.result_list))
        for conversation in self.result_list:
            conversation.list_marks = marks.get(conversation.pk, {})


class InboxListMixin:
    """The conversation admin's list."""

    list_display = (
        "conversation_cell",
        "waiting_cell",
        "assignee",
        "rating_cell",
    )
    list_display_links = ("conversation_cell",)
    list_filter = (InboxTab, "channel", "assignee", "origin")
    list_select_related = ("assignee",)
    list_per_page = 30
    search_fields = ("subject",)  # shows the box; the search itself is I3's (get_search_results)
    search_help_text = "Search the messages, the subject and the contacts' names and emails."
    actions = ("assign_to_me", "close_selected", "close_quietly", "snooze_selected")

    # -- list (I1–I3) --

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("assignee", "workflow", "last_teammate_replier", "started_by_teammate")
            .prefetch_related("contacts")
        )

    def get_search_results(self, request, queryset, search_term):
        return inbox.search(queryset, search_term), False

    def get_ordering(self, request):
        return inbox.inbox_order()

    def get_changelist(self, request, **kwargs):
        return InboxChangeList

    def changelist_view(self, request, extra_context=None):
        teammate = teammate_of(request.user)
        counts = inbox.tab_counts(teammate)
        current = InboxTab.chosen(request, teammate)
        tabs = [
            {
                "key": tab.key,
                "label": tab.label,
                "count": counts[tab.key],
                "url": f"?{InboxTab.parameter_name}={tab.key}",
                "current": tab.key == current,
            }
            for tab in inbox.TABS
            if tab.key != "mine" or teammate is not None
        ]
        context = {
            "title": "Inbox",
            "inbox_tabs": tabs,
            "inbox_searching": current == inbox.ALL.key,
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    @admin.display(description="Conversation")
    def conversation_cell(self, obj):
        people = ", ".join(
            " · ".join(
                filter(
                    None,
                    [
                        c.name or c.email or f"Visitor {c.pk}",
                        c.get_role_display().lower(),
                        c.email if c.name else "",
                    ],
                )
            )
            for c in obj.contacts.all()
        )
        return format_html(
            '<span class="inbox-who"><span class="inbox-channel">{}</span> {}</span>'
            '<span class="inbox-title">{}</span><span class="inbox-preview">{}</span>',
            obj.get_channel_display(),
            people or "No contact",
            obj.subject or obj.first_line or f"Conversation #{obj.pk}",
            obj.preview if obj.preview != obj.first_line or obj.subject else "",
        )

    @admin.display(description="Waiting")
    def waiting_cell(self, obj):
        state = self.state_badge(obj)
        words = inbox.waiting(obj, clock.now())
        if not words:
            return state
        return format_html('{} <span class="inbox-waiting">{}</span>', state, words)

    @admin.display(description="Rating")
    def rating_cell(self, obj):
        return format_html("{}", getattr(obj, "list_marks", {}).get("rating", "")) or "—"

    def state_badge(self, obj):
        if obj.state == State.SNOOZED and obj.snoozed_until:
            title = f"Snoozed until {local_time(obj.snoozed_until)}"
        else:
            title = obj.get_state_display()
        return format_html(
            '<span class="conv-state conv-state-{}" title="{}">{}</span>',
            obj.state,
            title,
            obj.get_state_display(),
        )

    # -- bulk actions, each through conversations.services --

    def _each(self, request, queryset, perform, done: str):
        teammate = teammate_of(request.user)
        if teammate is None:
            self.message_user(request, no_teammate_message(request.user), messages.ERROR)
            return
        changed, refused = 0, []
        for conversation in queryset:
            try:
                perform(conversation, teammate)
            except ValidationError as refusal:
                refused.append(f"#{conversation.pk}: {' '.join(refusal.messages)}")
            else:
                changed += 1
        if changed:
            self.message_user(request, f"{done}: {changed} conversation{'s' * (changed != 1)}.")
        if refused:
            self.message_user(request, "Not done — " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda c, t: services.conversation_assign(conversation=c, to=t, by=t),
            "Assigned to you",
        )

    @admin.action(description="Close", permissions=["change"])
    def close_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda c, t: services.conversation_close(conversation=c, by=t),
            "Closed",
        )

    @admin.action(description="Close quietly (no survey)", permissions=["change"])
    def close_quietly(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda c, t: services.conversation_close(conversation=c, by=t, quiet=True),
            "Closed quietly",
        )

    @admin.action(description="Snooze until…", permissions=["change"])
    def snooze_selected(self, request, queryset):
        """A page asking until when; its form posts back here with `apply`."""
        form = SnoozeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            until = form.cleaned_data["until"]
            self._each(
                request,
                queryset,
                lambda c, t: services.conversation_snooze(conversation=c, by=t, until=until),
                f"Snoozed until {local_time(until)}",
            )
            return None
        if form.is_bound:
            self.message_user(request, errors_text(form), messages.ERROR)
        if not form.is_bound:
            form = SnoozeForm(initial={"until": timezone.localtime(tomorrow_morning(clock.now()))})
        return TemplateResponse(
            request,
            "admin/conversations/conversation/snooze_selected.html",
            {
                **self.admin_site.each_context(request),
                "title": "Snooze conversations",
                "opts": self.opts,
                "conversations": list(queryset),
                "form": form,
                "quick_snoozes": [(key, label) for key, (label, _) in QUICK_SNOOZES.items()],
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
