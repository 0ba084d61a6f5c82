"""A part's body, in one of two formats, and what a customer sees of it.

- `text` (E3a): what a person typed (the Messenger, the admin's reply and note boxes, a
  plain-text email, the API with `body_format: text`), stored exactly as typed (line breaks made
  `\n`, as a browser shows them). Every character is seen and counts: `if a < b` is eight.
- `html` (E3b): formatted text (an HTML email, the API's default), stored sanitised
  (`sanitize_html`, with nh3): the tags of formatted text and links, nothing that runs, loads or
  hides anything. Its visible text counts: markup does not, an entity is the one character it
  stands for.

Two functions read a body, and every page, count and search goes through them:
`body_visible_text` (what a reader sees; E3 counts its code points) and `body_html` (the HTML a
page draws: a text body escaped with its line breaks, an HTML body sanitised). Their agreement,
`visible_text(body_html(b, f)) == body_visible_text(b, f)`, is what `tests/test_body_format.py`
proves.
"""

import html as html_lib
import json
from html.parser import HTMLParser

import nh3
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString, mark_safe

# A part's body format (`Part.body_format`).
TEXT = "text"
HTML = "html"
BODY_FORMATS = (TEXT, HTML)

# Formatting, structure and links: what an email or a teammate's message needs to read well.
# No images (a remote image is a tracker and an external asset on the customer's pages), no
# forms, no styles, no scripts.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "q", "s", "small",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u",
    "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Removed with everything inside them, not only their tags.
DROPPED_WITH_CONTENT = {"script", "style", "head", "title", "template", "noscript", "object"}
URL_SCHEMES = {"http", "https", "mailto"}

_INVISIBLE = {"script", "style", "head", "template"}


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _INVISIBLE:
            self._hidden_depth += 1

    def handle_endtag(self, tag):
        if tag in _INVISIBLE and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data):
        if not self._hidden_depth:
            self.chunks.append(data)


# Elements followed by a blank line, and by a line break.
_PARAGRAPHS = {
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "dl",
}
_LINES = {"div", "li", "tr", "dt", "dd", "hr"}


class _ReadableText(_VisibleText):
    """Visible text with the line breaks a reader sees: one after each block and `<br>`."""

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        if tag == "br":
            self.chunks.append("\n")
        elif tag == "li" and not self._hidden_depth:
            self.chunks.append("- ")

    def handle_endtag(self, tag):
        super().handle_endtag(tag)
        if tag in _PARAGRAPHS:
            self.chunks.append("\n\n")
        elif tag in _LINES:
            self.chunks.append("\n")

    def handle_data(self, data):
        super().handle_data(" ".join(data.split("\n")))  # in HTML a line break is a space


def readable_text(body: str) -> str:
    """`body` as plain text to read (an email's text part, the API's `body_text`): markup
    gone, entities decoded, a line break after each paragraph, item and `<br>`."""
    if not has_markup(body):
        return html_lib.unescape(body).strip()
    parser = _ReadableText()
    parser.feed(body)
    parser.close()
    lines = [line.strip() for line in "".join(parser.chunks).replace("\xa0", " ").splitlines()]
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif not blank and text:
            text.append("")
            blank = True
    return "\n".join(text).strip()


def visible_text(body: str) -> str:
    """The text of `body` without markup, entities decoded (`&amp;` is `&`)."""
    parser = _VisibleText()
    parser.feed(body)
    parser.close()
    return "".join(parser.chunks)


def sanitize_html(body: str, *, drop: frozenset[str] | set[str] = frozenset()) -> str:
    """`body` with only the allowed tags and attributes left, links made safe (no referrer,
    no follow) and the tags in `drop` removed with their content (a quoted reply, say)."""
    return nh3.clean(
        body,
        tags=ALLOWED_TAGS - set(drop),
        clean_content_tags=DROPPED_WITH_CONTENT | set(drop),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def text_to_html(text: str) -> str:
    """Plain text as HTML with the same visible text: escaped, each line break kept and
    shown (`<br>` before it)."""
    return html_lib.escape(text, quote=False).replace("\n", "<br>\n")


def has_markup(body: str) -> bool:
    return "<" in body


def visible_characters(body: str, body_format: str = HTML) -> int:
    """E3: the number of code points a customer sees; spaces count, markup does not (E3b),
    and in a text body every character counts (E3a)."""
    return len(body_visible_text(body, body_format))


def _format_checked(body_format: str) -> str:
    if body_format not in BODY_FORMATS:
        raise ValidationError(f"Unknown body format {body_format!r}: use 'text' or 'html'.")
    return body_format


def body_visible_text(body: str, body_format: str) -> str:
    """The text a reader sees of a body, exactly: a text body itself (E3a), an HTML body's text
    without its markup, entities decoded (E3b). E3 counts its code points."""
    if _format_checked(body_format) == TEXT:
        return body or ""
    return visible_text(body or "")


def body_html(body: str, body_format: str) -> SafeString:
    """The HTML a page draws for a body: a text body escaped, each line break kept and shown;
    an HTML body sanitised (again: a body stored before that rule, or written around the
    services, still never runs), its line breaks shown when it has no markup at all."""
    if _format_checked(body_format) == TEXT:
        return mark_safe(text_to_html(body or ""))  # noqa: S308 - escaped just now
    html = sanitize_html(body or "")
    if not has_markup(html):
        html = html.replace("\n", "<br>\n")
    return mark_safe(html)  # noqa: S308 - sanitised by nh3 just above


def body_readable_text(body: str, body_format: str) -> str:
    """A body as plain text to read (an email's text part, the API's `body_text`, a preview):
    a text body as typed; an HTML body's text with a line break after each block."""
    if _format_checked(body_format) == TEXT:
        return (body or "").strip()
    return readable_text(body or "")


def newlines_one(text: str) -> str:
    """One `\n` per line break (a browser's CRLF, an old Mac's CR), as a page shows it."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def refuse_nul(text: str, what: str) -> None:
    """PostgreSQL cannot store a NUL character (\\x00) in text: psycopg raises a DataError (a 500)
    where SQLite would store it. Refuse it the same way on both, in words."""
    if "\x00" in text:
        raise ValidationError(
            f"The {what} contains a NUL character (\\x00), which cannot be stored.",
            code="null_character",
        )


MAX_MESSAGE_ID = 255


def message_body(body: str, body_format: str = HTML) -> str:
    """A message's body as it is stored, with some visible text: a text body as typed (its
    line breaks made `\n`), an HTML body sanitised."""
    _format_checked(body_format)
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("The message is empty.")
    refuse_nul(body, "message")
    if body_format == TEXT:
        return newlines_one(body)
    body = sanitize_html(body)
    if not visible_text(body).strip():
        raise ValidationError("The message is empty.")
    return body


def message_id_clean(message_id: str) -> str:
    """A part's Message-ID (an email's, `<…@…>`), or empty for a part that is not one."""
    message_id = (message_id or "").strip()
    refuse_nul(message_id, "Message-ID")
    if len(message_id) > MAX_MESSAGE_ID:
        raise ValidationError(f"A Message-ID is at most {MAX_MESSAGE_ID} characters.")
    return message_id


PREVIEW_LENGTH = 200


def message_preview(body: str, *, body_format: str = HTML, first_line: bool = False) -> str:
    """A message's visible text for a list: its first line, or all of it on one line, cut
    at PREVIEW_LENGTH characters (I1)."""
    text = body_readable_text(body or "", body_format)
    if first_line:
        text = next((line for line in text.splitlines() if line.strip()), "")
    text = " ".join(text.split())
    if len(text) > PREVIEW_LENGTH:
        text = text[: PREVIEW_LENGTH - 1].rstrip() + "…"
    return text


# --- JSON bodies (K13, K14) ----------------------------------------------------------------------

# K13: the deepest a JSON body may nest. No body of the product nests more than a few levels;
# Python's parser would recurse into a deeper one until a RecursionError (a 500).
JSON_MAX_DEPTH = 32
JSON_TOO_DEEP = f"The JSON is nested more than {JSON_MAX_DEPTH} levels deep."
# K14: `"\ud800"` alone is valid JSON but no character: it cannot be encoded as UTF-8, so the
# database, and the answer that would echo it, fail with a UnicodeEncodeError (a 500).
JSON_SURROGATE = (
    "The JSON holds a lone surrogate escape (such as \\ud800), which is not a character."
)
JSON_INVALID = "The request is not valid JSON."


class JsonRefused(ValueError):
    """A JSON body refused (K13, K14): its `message` in words, for a 400."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number.")


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def json_checked(data):
    """`data` (parsed JSON) when it nests at most JSON_MAX_DEPTH levels and no key or string
    holds a surrogate; else `JsonRefused`. Walked without recursion."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _has_surrogate(value):
                raise JsonRefused(JSON_SURROGATE)
        elif isinstance(value, dict | list):
            if depth > JSON_MAX_DEPTH:
                raise JsonRefused(JSON_TOO_DEEP)
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                value = value.values()
            pending.extend((item, depth + 1) for item in value)
    return data


def json_loads(raw: bytes | str):
    """A request's JSON body, parsed and checked (K13, K14; NaN and Infinity refused, as DRF's
    strict parser refuses them): the API's parser and the Messenger widget's endpoints read
    their bodies with it. Anything refused is a `JsonRefused` in words."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise JsonRefused(JSON_TOO_DEEP) from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError too
        raise JsonRefused(JSON_INVALID) from None
    return json_checked(data)
