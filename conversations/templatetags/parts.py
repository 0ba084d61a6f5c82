"""`{{ part.body|part_html }}`: a part's body as the customer sees it, on every page.

Bodies are stored sanitised (`conversations.text`); they are sanitised again here, so that a
body stored before that rule, or written around the services, is still shown as text and
never runs. A body without markup (plain text) keeps its line breaks.
"""

from django import template
from django.utils.safestring import mark_safe

from conversations.text import has_markup, sanitize_html, visible_text

register = template.Library()


@register.filter
def part_html(body: str) -> str:
    html = sanitize_html(body or "")
    if not has_markup(html):
        html = html.replace("\n", "<br>\n")
    return mark_safe(html)  # noqa: S308 - sanitised by nh3 just above


@register.filter
def part_text(body: str) -> str:
    """A part's visible text on one line, for a snippet (escaped by the template)."""
    return " ".join(visible_text(body or "").split())
