"""M7, M14: what a customer's email says, and the files that came with it.

The body is the newest text of the message: quoted history and signatures stripped
(mail-parser-reply), HTML sanitised (nh3) and kept as an HTML body when nothing had to be cut
(E3b), a text body otherwise (a text-only email, or the newest reply of a quoted one: shown and
counted as written, E3a), so that the part shows (and E3 counts) what the customer wrote this
time. Headers and bodies are decoded whatever their charset claims: an unknown charset, 8-bit
bytes or a NUL never stop a message from becoming a part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from mailparser_reply.constants import MAIL_LANGUAGES
from mailparser_reply.parser import EmailMessage as ReplyText

from conversations.text import (
    HTML,
    TEXT,
    body_visible_text,
    has_markup,
    readable_text,
    sanitize_html,
)

# The languages whose reply headers ("On … wrote:", "Le … a écrit :") are recognised (of
# these, those mail-parser-reply knows).
REPLY_LANGUAGES = [
    language
    for language in ["en", "de", "fr", "es", "pt", "it", "nl", "sv", "pl"]
    if language in MAIL_LANGUAGES
]
ATTACHMENT_ONLY = "(No text: see the attachments.)"
# A quoted reply in HTML mail: Gmail, Apple Mail, Outlook, Thunderbird all use a blockquote.
QUOTE_TAGS = {"blockquote"}
_SPACES = re.compile(r"[ \t\r\f\v]+")


def clean_text(value) -> str:
    """Text that any database stores: undecodable bytes replaced, NULs removed."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    if any(0xDC80 <= ord(char) <= 0xDCFF for char in text):  # surrogate-escaped 8-bit bytes
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "")


def decoded_payload(part: Message) -> str:
    """A text part's content, decoded by its charset, or as UTF-8 (then Latin-1) when the
    charset is unknown or wrong."""
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        return clean_text(payload if isinstance(payload, str) else "")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return clean_text(payload.decode(candidate))
        except (LookupError, UnicodeDecodeError):
            continue
    return clean_text(payload.decode("latin-1"))


@dataclass
class File:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Content:
    body: str  # for the part: sanitised HTML, or plain text (body_format)
    body_format: str = HTML
    files: list[File] = field(default_factory=list)


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return disposition == "attachment" or (
        bool(part.get_filename()) and part.get_content_maintype() not in ("text", "multipart")
    )


def _walk(message: Message):
    """The message's leaf parts, text bodies and attachments, without descending into an
    attached message (it is an attachment of its own)."""
    if message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                if part.get_content_type() == "message/rfc822":
                    yield part
                else:
                    yield from _walk(part)
    else:
        yield message


def _filename(part: Message, number: int) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed parameter is no reason to lose the file
        name = None
    name = clean_text(name).replace("/", "_").replace("\\", "_").strip()[-200:]
    # "." and ".." name no file (the storage refuses them, and the message with them).
    return name if name.strip(".") else f"attachment-{number}"


def message_content(message: Message) -> Content:
    """The body (M7) and the files (M14) of a customer's message."""
    plain, html, files = [], [], []
    for number, part in enumerate(_walk(message), start=1):
        content_type = part.get_content_type()
        if content_type == "message/rfc822" or _is_attachment(part):
            data = part.get_payload(decode=True)
            if data is None:  # an attached message: its bytes as they came
                inner = part.get_payload()
                data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
            files.append(File(_filename(part, number), content_type, data))
        elif content_type == "text/plain":
            plain.append(decoded_payload(part))
        elif content_type == "text/html":
            html.append(decoded_payload(part))
    body, body_format = _body(plain, html)
    if not body_visible_text(body, body_format).strip() and files:
        body, body_format = ATTACHMENT_ONLY, TEXT
    return Content(body=body, body_format=body_format, files=files)


def _newest(text: str) -> str:
    """The newest reply of `text`: without the quoted history and the signature."""
    # A line that starts with "- " is an item of a list the customer wrote, not the start of
    # a signature (mail-parser-reply's default would drop it and everything after it).
    parsed = ReplyText(text=text, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True).read()
    if not parsed.replies:
        return text.strip()
    return (parsed.replies[0].body or parsed.latest_reply or "").strip()


def _body(plain: list[str], html: list[str]) -> tuple[str, str]:
    """The newest reply and its format: sanitised HTML, or plain text; empty when the
    message says nothing."""
    text = "\n\n".join(t for t in plain if t.strip())
    markup = "".join(html)
    if markup.strip():
        unquoted = sanitize_html(markup, drop=QUOTE_TAGS)
        # Read with its line breaks: the reply parser finds "On … wrote:" at a line's start,
        # and words in adjacent blocks (`<p>a</p><p>b</p>`) stay apart.
        if not text:
            text = readable_text(unquoted)
    else:
        unquoted = ""
    newest = _newest(text) if text.strip() else ""
    if unquoted and _same_words(readable_text(unquoted), newest):
        return unquoted.strip(), HTML  # nothing left to cut: keep the customer's formatting
    if not newest and unquoted and has_markup(unquoted):
        return unquoted.strip(), HTML
    return newest, TEXT


def _same_words(one: str, other: str) -> bool:
    return _SPACES.sub(" ", one).split() == _SPACES.sub(" ", other).split()
