"""`{{ moment|short_time }}`: the one way an admin page shows a time, "3 Dec 2026, 13:04" in
the site's TIME_ZONE (`conversations.adminkit.short_time`, as the list columns and the reports
show it); empty for none, so that `|default:"—"` applies."""

from django import template

from conversations.adminkit import short_time as _short_time

register = template.Library()


@register.filter
def short_time(moment) -> str:
    return _short_time(moment) if moment else ""
