"""`make run`'s last words (`manage.py run_banner`, printed by `scripts/run` once the web
server answers and every process of the worker is up): where the app is, every login with
the password of those made by this run (shown once), the demo host page, the sent mail,
the health check, and how to stop."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from conversations.people import ADMINS_GROUP, TEAMMATES_GROUP

MANAGERS_GROUP = "Managers"  # reports/migrations/0002
# More logins than this are counted, not listed.
MAX_LOGINS = 15
CHANGEPASSWORD = ".venv/bin/python manage.py changepassword USERNAME"


def role(user, groups: set[str]) -> str:
    if user.is_superuser or ADMINS_GROUP in groups:
        return "admin"
    if MANAGERS_GROUP in groups:
        return "manager"
    if TEAMMATES_GROUP in groups:
        return "teammate"
    return "staff"


ROLE_ORDER = {"admin": 0, "manager": 1, "teammate": 2, "staff": 3}


def logins() -> list[tuple[str, str, str]]:
    """Every active login to the admin: (username, role, name), admins first, then managers,
    teammates and other staff, each by username."""
    users = (
        get_user_model()
        .objects.filter(Q(is_staff=True) | Q(is_superuser=True), is_active=True)
        .prefetch_related("groups")
    )
    rows = []
    for user in users:
        kind = role(user, {group.name for group in user.groups.all()})
        rows.append((user.username, kind, user.get_full_name()))
    return sorted(rows, key=lambda row: (ROLE_ORDER[row[1]], row[0]))


def banner(*, port: int, made: dict[str, str]) -> str:
    """The banner's text; `made` are the logins this run made, with their passwords."""
    site = f"http://127.0.0.1:{port}"
    rows = logins()
    shown = rows[:MAX_LOGINS]
    lines = ["", f"  csat is running at {site}/  (the inbox: {site}/admin/)", ""]
    if not rows:
        lines.append("  No login yet: `.venv/bin/python manage.py ensure_admin` makes one.")
    else:
        with_password = any(username in made for username, _, _ in shown)
        lines.append(
            "  Logins, with the passwords this run made (shown this once: keep them):"
            if with_password
            else "  Logins:"
        )
        user_width = max(len(username) for username, _, _ in shown)
        name_width = min(max(len(name) for _, _, name in shown), 24)
        for username, kind, name in shown:
            line = f"    {username:<{user_width}}  {kind:<8}  {name:<{name_width}}  "
            lines.append((line + made.get(username, "")).rstrip())
        if len(rows) > MAX_LOGINS:
            lines.append(f"    … and {len(rows) - MAX_LOGINS} more: {site}/admin/auth/user/")
        lines += [
            "  A password is shown once, when it is made; to set one:",
            f"    {CHANGEPASSWORD}",
        ]
    lines.append("")
    if settings.MESSENGER_DEMO_HOST:
        lines.append(f"  Messenger on a demo company's site: http://localhost:{port}/demo/host/")
    if settings.EMAIL_BACKEND == "mail.devbox.DevboxBackend":
        lines.append(
            f"  Sent mail: {site}/admin/mail/sentmail/  (also printed here, on the console)"
        )
    else:
        lines.append(f"  Mail goes out through {settings.EMAIL_BACKEND} (EMAIL_URL).")
    lines += [f"  Health:    {site}/healthz", "  Press Ctrl-C to stop.", ""]
    return "\n".join(lines)
