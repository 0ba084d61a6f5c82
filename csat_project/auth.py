"""Authentication backends."""

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q


class ModelBackend(backends.ModelBackend):
    """Django's, with a user's permissions (their own and their groups') read in one query
    instead of two: every API call, admin page and report page checks them."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                own = get_user_model().user_permissions.through.objects.filter(user_id=user_obj.pk)
                grouped = Group.permissions.through.objects.filter(group__user=user_obj)
                perms = Permission.objects.filter(
                    Q(pk__in=own.values("permission_id"))
                    | Q(pk__in=grouped.values("permission_id"))
                )
            perms = perms.values_list("content_type__app_label", "codename").order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in perms}
        return user_obj._perm_cache
