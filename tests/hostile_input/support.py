"""Constants and helpers shared by the modules of this package."""

from __future__ import annotations

from html.parser import HTMLParser

from django.utils.html import escape

from conversations.models import Contact, Conversation, Part, Teammate
from ratings.models import Rating, RatingEvent, RatingRequest

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "attribute-break": '"><b>bold</b><"',
    "sql": "'; DROP TABLE ratings_rating; --",
    "entities": "&lt;b&gt; &amp;amp; &#60;script&#62;",
    "template": "{{ request.user }} {% csrf_token %} %s %(x)s {0}",
    "rtl-override": "Refund \u202egnp.exe\u202c done",
    "zero-width": "Z\u200bero\u200c width\u200d join 👩\u200d💻 👨\u200d👩\u200d👧",
    "combining": "Cafe\u0301 Z\u0334\u031b\u0328a\u0338l\u0337g\u0336o\u0335",
    "emoji-skin-tones": "Thanks 👍🏿 👋🏻 🤌🏽 🧑🏾\u200d🚀",
    "closing-tags": "back\\slash `tick` 'single' </textarea></title></script>",
}


IDS = list(HOSTILE)


TEXTS = list(HOSTILE.values())


MARKUP = set("<>&\"'")


NUL = "Ann\x00Smith"


# --- helpers ------------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data):
        self.chunks.append(data)


def page_text(html: str) -> str:
    """Everything an HTML parser reads as text (entities decoded), tags and attributes left out."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.chunks)


def assert_shown_as_text(html: str, text: str, *, bodies: bool = False) -> None:
    """`text` is on the page as text: escaped as Django escapes, never as raw markup, and read
    back whole by an HTML parser (so no part of it was taken for a tag).

    With `bodies`, the page also shows message bodies: sanitised HTML, whose text nodes may
    hold a quote unescaped (harmless outside an attribute), so only <, > and & must be."""
    assert escape(text) in html, f"{text!r} is not on the page, escaped"
    if (MARKUP - {"'", '"'} if bodies else MARKUP) & set(text):
        assert text not in html, f"{text!r} is on the page unescaped"
    assert text in page_text(html), f"{text!r} does not read back as the page's text"


def _html(response, status=200) -> str:
    assert response.status_code == status, response.status_code
    return response.content.decode()


def _counts() -> dict:
    models = (Contact, Teammate, Conversation, Part, Rating, RatingEvent, RatingRequest)
    return {model.__name__: model.objects.count() for model in models}
