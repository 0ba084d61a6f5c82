"""`{{ part|part_html }}`: a part's body as the customer sees it, on every page.

Both filters read the part's format (`conversations.text.body_html`, `body_visible_text`): a
text body is shown as typed (escaped, its line breaks kept), an HTML body sanitised (again, so
that a body stored before that rule, or written around the services, is still never run). What
they show is what E3 counts. A bare string is read as an HTML body (an event's, say).
"""

from django import template

from conversations.text import HTML, body_html, body_visible_text

register = template.Library()


def _body(part) -> tuple[str, str]:
    if isinstance(part, str) or part is None:
        return part or "", HTML
    return part.body or "", part.body_format


@register.filter
def part_html(part) -> str:
    return body_html(*_body(part))


@register.filter
def part_text(part) -> str:
    """A part's visible text on one line, for a snippet (escaped by the template)."""
    return " ".join(body_visible_text(*_body(part)).split())
