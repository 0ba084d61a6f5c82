"""W7: the host sites that may embed the Messenger, from MESSENGER_ALLOWED_ORIGINS."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def origin_problem(origin: str) -> str:
    """Why `origin` is not a plain scheme://host[:port], or '' when it is one."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) origin"
    if parts.path or parts.query or parts.fragment or parts.username:
        return "has more than scheme, host and port"
    return ""


def site_origin() -> str:
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def allowed_origins() -> list[str]:
    """The origins that may embed the widget: those configured, and csat's own."""
    origins = [o for o in settings.MESSENGER_ALLOWED_ORIGINS if not origin_problem(o)]
    return list(dict.fromkeys([*origins, site_origin()]))


def host_origin(candidate) -> str:
    """The host page's origin if it is allowed, else ''."""
    if isinstance(candidate, str) and candidate.rstrip("/") in allowed_origins():
        return candidate.rstrip("/")
    return ""


def frame_ancestors() -> list[str]:
    """K10b: the frame-ancestors sources of the frame's Content-Security-Policy: only the
    allowed sites (and csat itself) may embed it."""
    return ["'self'", *allowed_origins()]
