"""The admin inbox: conversations with their thread and actions, and the people behind them.

Every change to a conversation goes through `conversations.services`, where the rules live; the
admin only parses what the teammate typed (`conversations.forms`), calls the service and tells
what happened. A refusal is the service's own message, shown as an error, with nothing written.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from conversations import clock, services
from conversations.forms import (
    QUICK_SNOOZES,
    CloseForm,
    MessageForm,
    NoteForm,
    ReopenForm,
    SnoozeForm,
    StartConversationForm,
    TeammateCreateForm,
    tomorrow_morning,
)
from conversations.models import (
    Contact,
    Conversation,
    ConversationClose,
    Origin,
    Part,
    State,
    Teammate,
    Workflow,
)
from conversations.panels import conversation_panels
from conversations.selectors import no_teammate_message, teammate_of


def _local(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "D j M Y, H:i")


def _short(moment: datetime | None) -> str:
    """A compact time for list columns (the list has many of them)."""
    if moment is None:
        return "-"
    return formats.date_format(timezone.localtime(moment), "j M Y, H:i")


def _errors_text(form) -> str:
    """All of a form's errors in one line, for a message above the page."""
    return " ".join(message for errors in form.errors.values() for message in errors)


# --- actions: one form and one service call each ---------------------------------------------


def _reply(conversation, teammate, data) -> str:
    services.conversation_reply(conversation=conversation, author=teammate, body=data["body"])
    return "Reply sent."


def _note(conversation, teammate, data) -> str:
    services.conversation_note(conversation=conversation, author=teammate, body=data["body"])
    return "Internal note added."


def _snooze(conversation, teammate, data) -> str:
    services.conversation_snooze(conversation=conversation, by=teammate, until=data["until"])
    return f"Snoozed until {_local(data['until'])}."


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


# --- service-backed add pages ----------------------------------------------------------------


class ServiceAddMixin:
    """An add page whose form calls a service instead of `ModelForm.save()`, so that an object
    made in the admin follows the same rules as one made anywhere else. A refusal of the
    service is shown on the form, like a validation error."""

    add_form_class = None
    add_title = None

    def get_add_form_kwargs(self, request) -> dict:
        return {"initial": self.get_changeform_initial_data(request)}

    def create_from_form(self, request, form):
        raise NotImplementedError

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = self.add_form_class(data, **self.get_add_form_kwargs(request))
        if data is not None and form.is_valid():
            try:
                with transaction.atomic(using=router.db_for_write(self.model)):
                    obj = self.create_from_form(request, form)
                    self.log_addition(request, obj, [{"added": {}}])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self.response_add(request, obj)
        return self._render_add_form(request, form, form_url, extra_context)

    def _render_add_form(self, request, form, form_url, extra_context):
        admin_form = helpers.AdminForm(
            form, [(None, {"fields": list(form.fields)})], {}, model_admin=self
        )
        context = {
            **self.admin_site.each_context(request),
            "title": self.add_title or f"Add {self.opts.verbose_name}",
            "subtitle": None,
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)


# --- conversations ----------------------------------------------------------------------------


class ConversationCloseInline(admin.TabularInline):
    """Every close with the facts the rating rules read at that moment (read-only)."""

    model = ConversationClose
    verbose_name = "close"
    verbose_name_plural = "Closes"
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "closed_at",
        "closed_by",
        "quiet",
        "reply_characters",
        "last_reply_at",
        "teammate_replied",
        "last_teammate_replier",
        "contact_count",
        "contact_role",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("closed_by", "last_teammate_replier")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(ServiceAddMixin, admin.ModelAdmin):
    """The inbox. The change page is read-only: the thread, and one form per action, each
    posting to its own URL (`act_view`) that calls the matching service."""

    list_display = (
        "id",
        "subject_or_number",
        "contact_emails",
        "channel",
        "origin",
        "state_badge",
        "assignee",
        "updated",
        "last_reply",
    )
    list_display_links = ("id", "subject_or_number")
    list_filter = ("state", "channel", "origin", "assignee")
    list_select_related = ("assignee",)
    search_fields = ("subject", "contacts__email")
    search_help_text = "Search by subject or a contact's email address."
    date_hierarchy = "created_at"
    inlines = (ConversationCloseInline,)
    add_form_class = StartConversationForm
    add_title = "Start a conversation"

    # -- list --

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("assignee", "workflow", "last_teammate_replier", "started_by_teammate")
            .prefetch_related("contacts")
        )

    @admin.display(description="Subject", ordering="subject")
    def subject_or_number(self, obj):
        return obj.subject or "(no subject)"

    @admin.display(description="Contacts")
    def contact_emails(self, obj):
        return ", ".join(contact.email for contact in obj.contacts.all())

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj):
        return _short(obj.updated_at)

    @admin.display(description="Last reply", ordering="last_reply_at")
    def last_reply(self, obj):
        return _short(obj.last_reply_at)

    @admin.display(description="State", ordering="state")
    def state_badge(self, obj):
        if obj.state == State.SNOOZED and obj.snoozed_until:
            title = f"Snoozed until {_local(obj.snoozed_until)}"
        else:
            title = obj.get_state_display()
        return format_html(
            '<span class="conv-state conv-state-{}" title="{}">{}</span>',
            obj.state,
            title,
            obj.get_state_display(),
        )

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
            data = panel.context(request, conversation, self.admin_site)
            if data is not None:
                drawn.append(render_to_string(panel.template, data, request=request))
        return drawn

    def inbox_context(self, request, conversation) -> dict:
        """The thread in order and the action forms that fit the state. The parts come in
        one query with their authors, whatever the length of the thread."""
        parts = list(conversation.parts.select_related("author_teammate", "author_contact"))
        for part in parts:
            part.snooze_time = _snooze_time(part)
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
        return [path("<path:object_id>/act/<slug:action>/", view, name=name)] + super().get_urls()

    def action_url(self, conversation, action: str) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_act"
        args = [quote(conversation.pk), action]
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
            messages.error(request, _errors_text(form))
            return back
        try:
            done = perform(conversation, teammate, form.cleaned_data)
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
        else:
            messages.success(request, done)
        return back

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
            started_by=teammate,
            subject=data["subject"],
        )

    def response_add(self, request, obj, post_url_continue=None):
        """A started conversation opens on its own page, where the thread goes on."""
        messages.success(request, "Conversation started.")
        return HttpResponseRedirect(self.change_url(obj))


# --- people and workflows ---------------------------------------------------------------------


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("name", "email")
    fields = ("role", "name", "email")


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    """Editable by whoever holds change_workflow (the Admins group); teammates only view."""

    list_display = ("name", "hours_to_rate", "hours_to_change")
    search_fields = ("name",)
    fields = ("name", "rating_window_hours", "change_window_hours")

    @admin.display(description="Hours to rate", ordering="rating_window_hours")
    def hours_to_rate(self, obj):
        return obj.rating_window_hours or "From settings"

    @admin.display(description="Hours to change a rating", ordering="change_window_hours")
    def hours_to_change(self, obj):
        return obj.change_window_hours or "From settings"


@admin.register(Teammate)
class TeammateAdmin(ServiceAddMixin, admin.ModelAdmin):
    """A teammate is added with its user account (`teammate_create`); afterwards only the name
    is edited here; the account (email, password, active) is managed on the User admin."""

    list_display = ("name", "email", "username", "is_active")
    list_select_related = ("user",)
    list_filter = ("user__is_active",)
    search_fields = ("name", "user__email", "user__username")
    fields = ("name", "username", "email", "is_active", "user_account")
    readonly_fields = ("username", "email", "is_active", "user_account")
    add_form_class = TeammateCreateForm

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj):
        return obj.user.email

    @admin.display(description="Username", ordering="user__username")
    def username(self, obj):
        return obj.user.get_username()

    @admin.display(description="Active", boolean=True, ordering="user__is_active")
    def is_active(self, obj):
        return obj.user.is_active

    @admin.display(description="User account")
    def user_account(self, obj):
        opts = obj.user._meta
        try:
            url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[quote(obj.user.pk)],
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:  # no User admin on this site
            return "-"
        return format_html('<a href="{}">Edit the account (email, password, active)</a>', url)

    def create_from_form(self, request, form):
        data = form.cleaned_data
        return services.teammate_create(
            name=data["name"],
            email=data["email"],
            username=data["username"],
            password=data["password"] or None,
        )
