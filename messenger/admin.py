"""The Messenger's page in the admin: what a company pastes into its site, whether signed-in
users can be verified (W1), which sites may embed the widget (W7) and what a lead is (W2).

Nothing is edited here: the Messenger is configured by the environment (MESSENGER_ALLOWED_ORIGINS,
MESSENGER_IDENTITY_SECRET, SITE_URL, read from `.env` or the process environment), so the page
only shows it, never the secret itself. Who sees it is who may change the rating settings (the
Admins group, superusers); other teammates get a 403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from conversations.adminkit import admin_url
from messenger.models import MessengerSettings
from messenger.origins import origin_problem, site_origin
from ratings.models import RatingSettings

# The same people as the rating settings' page (ratings 0002 grants it to the Admins group).
ACCESS_PERMISSION = "ratings.change_ratingsettings"
SECRET_ENV = "MESSENGER_IDENTITY_SECRET"

IDENTITY_SNIPPET = (
    '<script>window.csatMessenger = {user_id: "USER_ID", email: "USER_EMAIL", '
    'name: "USER_NAME", user_hash: "USER_HASH"};</script>'
)
PYTHON_SNIPPET = f"""\
import hashlib, hmac, os
secret = os.environ["{SECRET_ENV}"].encode()
user_hash = hmac.new(secret, str(user_id).encode(), hashlib.sha256).hexdigest()"""
NODE_SNIPPET = f"""\
const crypto = require("crypto");
const secret = process.env.{SECRET_ENV};
const userHash = crypto.createHmac("sha256", secret).update(String(userId)).digest("hex");"""


def script_snippet() -> str:
    """The line that loads the widget from this installation."""
    return f'<script src="{settings.SITE_URL}/messenger/widget.js" async></script>'


def origins_shown() -> list[dict]:
    """Each configured origin with what is wrong with it ('' when nothing is)."""
    return [
        {"origin": origin, "problem": origin_problem(origin)}
        for origin in settings.MESSENGER_ALLOWED_ORIGINS
    ]


@admin.register(MessengerSettings)
class MessengerSettingsAdmin(admin.ModelAdmin):
    """One page, no rows: the model is only the admin's name for it (messenger/models.py)."""

    def _allowed(self, request) -> bool:
        return request.user.is_active and request.user.has_perm(ACCESS_PERMISSION)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        """Only the page: the model has no table, so no add, change or history pages."""
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.settings_view), name=name)]

    def settings_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        origins = origins_shown()
        context = {
            **self.admin_site.each_context(request),
            "title": "Messenger settings",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "identity_snippet": IDENTITY_SNIPPET,
            "script_snippet": script_snippet(),
            "install_snippet": f"{IDENTITY_SNIPPET}\n{script_snippet()}",
            "secret_set": bool(settings.MESSENGER_IDENTITY_SECRET),
            "secret_env": SECRET_ENV,
            "python_snippet": PYTHON_SNIPPET,
            "node_snippet": NODE_SNIPPET,
            "origins": origins,
            "origin_problems": sum(1 for origin in origins if origin["problem"]),
            "site_origin": site_origin(),
            "site_url": settings.SITE_URL,
            "rating_settings_url": admin_url(RatingSettings, "changelist", site=self.admin_site),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/messenger/messengersettings/settings.html", context)
