"""Who may call what.

Every view names the Django permissions each method needs (`required_perms`), so the API
follows the same groups as the admin: Teammates work on conversations and read ratings,
Admins (and superusers) change the rating settings and the webhooks, Managers
(`reports.view_reports`) read the report figures. Writing in a conversation also needs a
teammate profile: the services record which teammate acted.
"""

from rest_framework.permissions import BasePermission

from conversations.selectors import no_teammate_message, teammate_of


class HasRequiredPerms(BasePermission):
    """The permissions the view lists for the method (`required_perms`, by method; HEAD and
    OPTIONS need GET's). A method the view handles but lists nothing for is refused; one it
    does not handle goes on to its 405."""

    message = "Your account does not have the permission for this."

    def has_permission(self, request, view):
        required = getattr(view, "required_perms", {})
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        if method not in required:
            handled = method.lower() in view.http_method_names and hasattr(view, method.lower())
            return not handled
        return request.user.has_perms(required[method])


class ActsAsTeammate(BasePermission):
    """Writes in a conversation are done by a teammate (the services take one)."""

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if teammate_of(request.user) is not None:
            return True
        self.message = no_teammate_message(request.user)
        return False
