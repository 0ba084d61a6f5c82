"""The API's token: `Authorization: Token <key>` (`manage.py api_token <username>`)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class TeammateTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, the token read with its user and the user's teammate
    profile in one query: every write in a conversation names the teammate who acted
    (`conversations.selectors.teammate_of`), so each call needs the profile anyway."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        token = model.objects.select_related("user", "user__teammate").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
