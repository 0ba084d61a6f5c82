"""manage.py api_token <username> [--rotate] [--expires-days N]: make a user's API token and
print its key, this once (K2): only its hash is kept (K1)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import tokens


class Command(BaseCommand):
    help = (
        "Make a user's API token and print its key, shown this once (only its hash is kept). "
        "--rotate replaces the user's tokens; --expires-days N makes it stop working after N days."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the user's tokens: the old keys stop working at once.",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="N",
            help=f"Refuse the token after N days (1 to {tokens.MAX_EXPIRES_DAYS}); default: never.",
        )

    def handle(self, *args, username, rotate, expires_days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        if not user.is_active:
            raise CommandError(f"The user {username!r} is not active.")
        if not tokens.expires_days_valid(expires_days):
            raise CommandError(tokens.EXPIRES_DAYS_ERROR)
        if rotate:
            token, key = tokens.token_rotate(user=user, expires_days=expires_days)
        else:
            existing = tokens.user_token_prefixes(user)
            if existing:
                named = ", ".join(f"{prefix}…" for prefix in existing)
                raise CommandError(
                    f"The user {username!r} already has an API token ({named}). Its key was "
                    "shown only when it was made; use --rotate to replace it."
                )
            token, key = tokens.token_issue(user=user, expires_days=expires_days)
        self.stdout.write(key)
        expires = f"expires {token.expiry:%Y-%m-%d %H:%M} UTC" if token.expiry else "no expiry"
        self.stderr.write(
            f"API token {token.token_key}… for {username!r} ({expires}), its key above. "
            + tokens.SHOWN_ONCE
        )
