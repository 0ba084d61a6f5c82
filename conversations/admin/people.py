"""The people and workflows behind the conversations: contacts, teammates, workflows."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from conversations import services
from conversations.admin.base import ServiceAddMixin
from conversations.forms import (
    TeammateCreateForm,
)
from conversations.models import (
    Contact,
    Teammate,
    Workflow,
)
from conversations.panels import contact_actions


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "role", "language", "external_id", "created_at", "erased_at")
    list_filter = ("role", "language")
    search_fields = ("name", "email", "external_id")
    # L1: the language is picked from settings.LANGUAGES (blank: the default one).
    fields = ("role", "name", "email", "language", "external_id", "visitor_id", "erased_at")
    readonly_fields = ("visitor_id", "erased_at")
    actions = ["messenger_links_revoke"]

    @admin.action(description="Revoke Messenger links", permissions=["change"])
    def messenger_links_revoke(self, request, queryset):
        """K19: every Messenger link sent so far to the selected contacts is refused."""
        count = services.messenger_links_revoke(contact_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            f"Messenger links revoked for {count} contact(s): the links sent before no longer "
            "open and their open Messenger sessions end; a new link works.",
        )

    def get_actions(self, request):
        """Django's, then those other apps registered (`conversations.panels`) that the user
        holds the permission of."""
        actions = super().get_actions(request)
        for action in contact_actions():
            if request.user.has_perm(action.permission):
                actions[action.name] = (action.function, action.name, action.description)
        return actions

    def get_readonly_fields(self, request, obj=None):
        """G1: an erased contact's placeholder stays as erasure left it."""
        if obj is not None and obj.erased_at is not None:
            return self.fields
        return self.readonly_fields


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
