"""M3: every message of a conversation in one thread, in every mail client.

Each message a conversation sends has a fixed Message-ID (a part's, a survey's), kept on its
part, so a reply to it is found again (M6) and a message sent twice after a crash is one
message in the customer's client. Every outgoing message names the latest message before it
(`In-Reply-To`) and the thread so far (`References`, the first and the latest ones when it is
long, as RFC 5322 suggests).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from conversations.models import Part

# References kept when a thread is long: the first message and the latest ones.
MAX_REFERENCES = 20


def message_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def part_message_id(part: Part) -> str:
    return f"<part-{part.pk}.{part.conversation_id}@{message_domain()}>"


def is_ours(message_id: str) -> bool:
    """M12: a Message-ID this installation made (a reply or a survey it sent)."""
    value = (message_id or "").strip().lower()
    return value.endswith(f"@{message_domain()}>") and value.startswith(
        ("<part-", "<rating-request-")
    )


def thread_headers(conversation_id: int, *, before: Part | None = None) -> dict[str, str]:
    """In-Reply-To and References for a message of the conversation (one query): the
    Message-IDs of its parts so far, oldest first, without `before` and what came after it."""
    parts = Part.objects.filter(conversation_id=conversation_id).exclude(message_id="")
    if before is not None:
        parts = parts.filter(pk__lt=before.pk)
    ids = list(parts.order_by("created_at", "id").values_list("message_id", flat=True))
    if not ids:
        return {}
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return {"In-Reply-To": ids[-1], "References": " ".join(ids)}


def message_ids(value: str) -> list[str]:
    """The Message-IDs in a header (References, In-Reply-To), in order."""
    found, current = [], ""
    for char in value or "":
        if char == "<":
            current = "<"
        elif char == ">" and current:
            found.append(current + ">")
            current = ""
        elif current:
            current += char
    return [m for m in found if "@" in m and len(m) <= 255 and " " not in m]
