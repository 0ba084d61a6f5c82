"""What a customer sees of a part's body."""

from html.parser import HTMLParser

from django.core.exceptions import ValidationError

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


def visible_text(body: str) -> str:
    """The text of `body` without markup, entities decoded (`&amp;` is `&`)."""
    parser = _VisibleText()
    parser.feed(body)
    parser.close()
    return "".join(parser.chunks)


def visible_characters(body: str) -> int:
    """E3: the number of code points a customer sees; spaces count, markup does not."""
    return len(visible_text(body))


def refuse_nul(text: str, what: str) -> None:
    """PostgreSQL cannot store a NUL character (\\x00) in text: psycopg raises a DataError (a 500)
    where SQLite would store it. Refuse it the same way on both, in words."""
    if "\x00" in text:
        raise ValidationError(
            f"The {what} contains a NUL character (\\x00), which cannot be stored.",
            code="null_character",
        )
