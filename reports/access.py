"""Who may read the reports (R1–R5): the one rule, used by the report pages, the API's report
endpoints, the staff pages' and the admin's header (through `reports.context_processors`) and
the landing page.

The reports are for the Managers group (migration reports/0002 gives it `reports.view_reports`)
and superusers; a teammate without that permission sees their own achievements (R4) only.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

from conversations.selectors import teammate_of

REPORTS_PERMISSION = "reports.view_reports"
MANAGERS_GROUP = "Managers"


def can_read_reports(user) -> bool:
    """Whether `user` may open R1–R3 and their CSVs and pick any teammate's achievements."""
    return user is not None and user.has_perm(REPORTS_PERMISSION)


def managers() -> QuerySet:
    """The users `can_read_reports` says yes to, as a query: superusers, and those given the
    permission directly or through a group (the Managers). Active or not: callers filter."""
    app_label, codename = REPORTS_PERMISSION.split(".")
    by_group = Q(
        groups__permissions__codename=codename,
        groups__permissions__content_type__app_label=app_label,
    )
    direct = Q(
        user_permissions__codename=codename,
        user_permissions__content_type__app_label=app_label,
    )
    return get_user_model().objects.filter(Q(is_superuser=True) | by_group | direct).distinct()


class ReportAccess:
    """What the report pages offer `user`, worked out when a template first asks (most pages
    never do), so the header costs no query where it is not drawn."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def reports(self) -> bool:
        return can_read_reports(self.user)

    @cached_property
    def own_achievements(self) -> bool:
        """A teammate who cannot read the reports: their achievements (R4) are their page."""
        return not self.reports and teammate_of(self.user) is not None


@transaction.atomic
def manager_add(*, user) -> None:
    """Put `user` in the Managers group, made with its permission when missing (a database
    flushed by a transactional test has lost what the data migration made)."""
    group, created = Group.objects.get_or_create(name=MANAGERS_GROUP)
    if created:
        app_label, codename = REPORTS_PERMISSION.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    user.groups.add(group)
