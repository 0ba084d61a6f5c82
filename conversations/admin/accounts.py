"""K17: the user accounts in the admin. The Admins group may edit accounts (an email, a
password, active or not: conversations 0002), but only a superuser grants rights: superuser
status, group membership (the Teammates, Managers and Admins groups) and permissions are shown
read-only to anyone else, so a posted value for them is ignored, and a superuser's own account
(its password included) is theirs to change. So no admin can raise their own rights, nor take
over an account that has more."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

# What grants rights: a superuser's only.
RIGHTS_FIELDS = ("is_superuser", "groups", "user_permissions")

User = get_user_model()


class AccountAdmin(UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return fields + tuple(name for name in RIGHTS_FIELDS if name not in fields)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
