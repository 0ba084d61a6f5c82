"""What every app's admin pages share: one way to show a time (in the site's TIME_ZONE), one
way to link to an admin page, and read-only records. A helper module, not a face: the apps'
admin modules import it, never each other."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html

LONG_TIME = "D j M Y, H:i"
SHORT_TIME = "j M Y, H:i"


def local_time(moment: datetime) -> str:
    """A moment in words: "Tue 3 Dec 2026, 14:05"."""
    return formats.date_format(timezone.localtime(moment), LONG_TIME)


def short_time(moment: datetime | None) -> str:
    """A compact moment for list columns (a list has many of them); "-" for none."""
    if moment is None:
        return "-"
    return formats.date_format(timezone.localtime(moment), SHORT_TIME)


def admin_url(model, view: str, *args, site=admin.site) -> str:
    """The address of one of `model`'s admin pages (changelist, change, act …)."""
    opts = model._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_{view}",
        args=[quote(arg) for arg in args],
        current_app=site.name,
    )


class ViewOnly:
    """A model admin or inline for records that the services alone write: nobody adds,
    changes or deletes them here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryColumns:
    """The list columns of a `Deliverable`'s admin (a survey, a mailed reply)."""

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return short_time(obj.created_at)

    @admin.display(description="Delivered", ordering="delivered_at")
    def delivered(self, obj):
        return short_time(obj.delivered_at)

    @admin.display(description="Attempts", ordering="delivery_attempts")
    def attempts(self, obj):
        return obj.delivery_attempts


def conversation_link(conversation_id: int | None, label: str | None = None) -> str:
    """A link to a conversation's admin page ("#42" unless labelled); "-" for none."""
    if conversation_id is None:
        return "-"
    url = reverse("admin:conversations_conversation_change", args=[quote(conversation_id)])
    return format_html('<a href="{}">{}</a>', url, label or f"#{conversation_id}")


class FileDownload:
    """A read-only admin's stored file, at `<object_id>/<download_path>/`, always as a download
    (never shown inline), for those who may view the record. `download_file(obj)` names the
    file, its download name and content type, or None when there is none."""

    download_path = "download"

    def download_file(self, obj):
        raise NotImplementedError

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_{self.download_path}"
        view = self.admin_site.admin_view(self.download_view)
        return [
            path(f"<path:object_id>/{self.download_path}/", view, name=name),
            *super().get_urls(),
        ]

    def download_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        found = self.download_file(obj) if obj is not None else None
        if found is None:
            raise Http404("There is no such file.")
        file, filename, content_type = found
        return FileResponse(
            file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
        )
