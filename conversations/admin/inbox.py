"""The inbox: conversations with their thread and one form per action, each calling its
service in `conversations.services`."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from conversations import clock, services
from conversations.admin.base import ServiceAddMixin, errors_text
from conversations.admin.inbox_list import InboxListMixin
from conversations.adminkit import short_time
from conversations.forms import (
    QUICK_SNOOZES,
    CloseForm,
    MessageForm,
    NoteForm,
    ReopenForm,
    SnoozeForm,
    StartConversationForm,
    tomorrow_morning,
)
from conversations.models import (
    BodyFormat,
    Conversation,
    Origin,
    Part,
    State,
)
from conversations.panels import (
    ConversationPanel,
    conversation_panel,
    conversation_panels,
    part_details,
)
from conversations.selectors import no_teammate_message, teammate_of


def _reply(conversation, teammate, data) -> str:
    services.conversation_reply(
        conversation=conversation, author=teammate, body=data["body"], body_format=BodyFormat.TEXT
    )
    return "Reply sent."


def _note(conversation, teammate, data) -> str:
    services.conversation_note(
        conversation=conversation, author=teammate, body=data["body"], body_format=BodyFormat.TEXT
    )
    return "Internal note added."


def _snooze(conversation, teammate, data) -> str:
    services.conversation_snooze(conversation=conversation, by=teammate, until=data["until"])
    return f"Snoozed until {short_time(data['until'])}."


def _reopen(conversation, teammate, data) -> str:
    services.conversation_reopen(conversation=conversation, by=teammate)
    return "Conversation reopened."


def _close(conversation, teammate, data) -> str:
    services.conversation_close(conversation=conversation, by=teammate, quiet=data["quiet"])
    if data["quiet"]:
        return "Closed quietly: the customer gets no survey."
    return "Conversation closed."


ACTIONS = {
    "reply": (MessageForm, _reply),
    "note": (NoteForm, _note),
    "snooze": (SnoozeForm, _snooze),
    "reopen": (ReopenForm, _reopen),
    "close": (CloseForm, _close),
}


# What the page offers in each state; the services still refuse what does not fit.
ACTIONS_BY_STATE = {
    State.OPEN: ("reply", "note", "snooze", "close"),
    State.SNOOZED: ("reply", "note", "snooze", "reopen", "close"),
    State.CLOSED: ("note", "reopen"),
}


def _snooze_time(part: Part) -> datetime | None:
    """The wake-up time a snooze event carries in its body ("until <ISO time>")."""
    if part.event != Part.Event.SNOOZED or not part.body.startswith("until "):
        return None
    try:
        return datetime.fromisoformat(part.body.removeprefix("until "))
    except ValueError:
        return None


@admin.register(Conversation)
class ConversationAdmin(InboxListMixin, ServiceAddMixin, admin.ModelAdmin):
    """The inbox. The list is `InboxListMixin`'s (I1–I3). The change page is read-only: the
    thread, and one form per action, each posting to its own URL (`act_view`) that calls the
    matching service."""

    add_form_class = StartConversationForm
    add_title = "Start a conversation"

    # -- permissions --

    def has_delete_permission(self, request, obj=None):
        """A thread is the record of what was said and of every close: only a superuser
        removes one (e.g. test data)."""
        return request.user.is_active and request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.opts.fields if field.editable] + ["contacts"]

    # -- change page --

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Read-only: the page's own form is never saved; the actions have their own URLs."""
        if request.method == "POST":
            return HttpResponseNotAllowed(["GET"])
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Reached by change_view once the object is found and the permission checked, so the
        # panels' queries run only for a page that is shown, on the object already read.
        if change and obj is not None:
            context.update(self.inbox_context(request, obj))
            context.update(title=f"Conversation #{obj.pk}", subtitle=obj.subject or None)
            context["panels"] = self.panels_html(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def panels_html(self, request, conversation) -> list[str]:
        """The panels other apps registered (`conversations.panels`), each rendered."""
        drawn = []
        for panel in conversation_panels():
            html = self.panel_html(request, conversation, panel)
            if html is not None:
                drawn.append(html)
        return drawn

    def panel_html(self, request, conversation, panel: ConversationPanel) -> str | None:
        """One panel, drawn the same on the page and alone (`panel_view`): its template gets
        `panel_url`, the address that draws it again, for a panel that refreshes itself."""
        data = panel.context(request, conversation, self.admin_site)
        if data is None:
            return None
        data = {**data, "panel_url": self.panel_url(conversation, panel.name)}
        return render_to_string(panel.template, data, request=request)

    def inbox_context(self, request, conversation) -> dict:
        """The thread in order and the action forms that fit the state. The parts come in
        one query with their authors, whatever the length of the thread."""
        parts = list(conversation.parts.select_related("author_teammate", "author_contact"))
        notes = part_details(request, parts, self.admin_site)
        for part in parts:
            part.snooze_time = _snooze_time(part)
            part.notes = notes.get(part.pk, [])
        teammate = teammate_of(request.user)
        can_act = self.has_change_permission(request, conversation)
        offered = ACTIONS_BY_STATE.get(conversation.state, ())
        wake_at = conversation.snoozed_until or tomorrow_morning(clock.now())
        snooze_form = SnoozeForm(initial={"until": timezone.localtime(wake_at)})
        return {
            "conversation": conversation,
            "contacts": list(conversation.contacts.all()),
            "thread": parts,
            "can_act": can_act,
            "teammate": teammate,
            "no_teammate_message": no_teammate_message(request.user) if not teammate else "",
            "offered": offered,
            "action_urls": {name: self.action_url(conversation, name) for name in ACTIONS},
            "reply_form": MessageForm(auto_id="id_reply_%s"),
            "note_form": NoteForm(auto_id="id_note_%s"),
            "snooze_form": snooze_form,
            "quick_snoozes": [(key, label) for key, (label, _) in QUICK_SNOOZES.items()],
        }

    # -- actions --

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_act"
        view = self.admin_site.admin_view(require_POST(self.act_view))
        act = path("<path:object_id>/act/<slug:action>/", view, name=name)
        return [act, self.panel_urlpattern()] + super().get_urls()

    def panel_urlpattern(self):
        """`<id>/panel/<name>/`: one registered panel alone (`panel_view`)."""
        name = f"{self.opts.app_label}_{self.opts.model_name}_panel"
        view = self.admin_site.admin_view(require_GET(self.panel_view))
        return path("<path:object_id>/panel/<slug:name>/", view, name=name)

    def action_url(self, conversation, action: str) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_act"
        args = [quote(conversation.pk), action]
        return reverse(name, args=args, current_app=self.admin_site.name)

    def panel_url(self, conversation, panel_name: str) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_panel"
        args = [quote(conversation.pk), panel_name]
        return reverse(name, args=args, current_app=self.admin_site.name)

    def change_url(self, conversation) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        return reverse(name, args=[quote(conversation.pk)], current_app=self.admin_site.name)

    def act_view(self, request, object_id, action):
        """POST only (405 otherwise), CSRF-checked, change permission (403 otherwise). Back to
        the conversation with what happened: the service's success or its refusal."""
        if action not in ACTIONS:
            raise Http404(f"No action {action!r}.")
        if not self.has_change_permission(request):
            raise PermissionDenied
        conversation = self.get_object(request, unquote(object_id))
        if conversation is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, conversation):
            raise PermissionDenied
        back = HttpResponseRedirect(self.change_url(conversation))
        teammate = teammate_of(request.user)
        if teammate is None:
            messages.error(request, no_teammate_message(request.user))
            return back
        form_class, perform = ACTIONS[action]
        form = form_class(request.POST)
        if not form.is_valid():
            messages.error(request, errors_text(form))
            return back
        try:
            done = perform(conversation, teammate, form.cleaned_data)
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
        else:
            messages.success(request, done)
        return back

    def panel_view(self, request, object_id, name):
        """One registered panel alone, as the page draws it: the fragment the page fetches
        again while the panel changes by itself (a pending rating decision). GET only, for
        whoever may view the conversation (403 otherwise); never cached (`admin_view`)."""
        panel = conversation_panel(name)
        if panel is None:
            raise Http404(f"No panel {name!r}.")
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # The conversation alone: the panel reads its own records, not the contacts.
        queryset = self.get_queryset(request).prefetch_related(None)
        try:
            conversation = queryset.get(pk=unquote(object_id))
        except (Conversation.DoesNotExist, ValidationError, ValueError) as missing:
            raise Http404("No such conversation.") from missing
        if not self.has_view_or_change_permission(request, conversation):
            raise PermissionDenied
        html = self.panel_html(request, conversation, panel)
        if html is None:
            raise Http404(f"Nothing to show in {name!r}.")
        return HttpResponse(html)

    # -- add page: start a direct outbound conversation --

    def get_add_form_kwargs(self, request) -> dict:
        return {**super().get_add_form_kwargs(request), "admin_site": self.admin_site}

    def create_from_form(self, request, form):
        teammate = teammate_of(request.user)
        if teammate is None:
            raise ValidationError(no_teammate_message(request.user))
        data = form.cleaned_data
        return services.conversation_start(
            channel=data["channel"],
            origin=Origin.DIRECT_OUTBOUND,
            contacts=list(data["contacts"]),
            body=data["body"],
            body_format=BodyFormat.TEXT,
            started_by=teammate,
            subject=data["subject"],
        )

    def response_add(self, request, obj, post_url_continue=None):
        """A started conversation opens on its own page, where the thread goes on."""
        messages.success(request, "Conversation started.")
        return HttpResponseRedirect(self.change_url(obj))
