"""K17: the user accounts in the admin. The Admins group may edit accounts (an email, a
password, active or not: conversations 0002), but only a superuser grants rights: superuser
status, group membership (the Teammates, Managers and Admins groups) and permissions are shown
read-only to anyone else, so a posted value for them is ignored. An account holding a right its
editor lacks (a superuser's, a Manager's for an admin who is none) is theirs alone to change or
delete, its password included: so no admin can raise their own rights, nor take over an
account that has more."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Permission
from django.db.models import Q

# What grants rights: a superuser's only.
RIGHTS_FIELDS = ("is_superuser", "groups", "user_permissions")

User = get_user_model()


def _granted(user) -> set[int]:
    """The permissions `user` holds, directly or through a group, active or not."""
    held = Permission.objects.filter(Q(user=user) | Q(group__user=user))
    return set(held.values_list("pk", flat=True))


def outranks(account, editor) -> bool:
    """`account` holds a right `editor` lacks (K17)."""
    if editor.is_superuser:
        return False
    return account.is_superuser or not _granted(account) <= _granted(editor)


class AccountAdmin(UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return fields + tuple(name for name in RIGHTS_FIELDS if name not in fields)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.pk != request.user.pk and outranks(obj, request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.pk != request.user.pk and outranks(obj, request.user):
            return False
        return super().has_delete_permission(request, obj)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
