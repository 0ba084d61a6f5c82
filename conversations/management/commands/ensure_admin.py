"""Create the first admin login, once, with a random password printed once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from conversations.logins_made import login_made


class Command(BaseCommand):
    help = (
        "Create an admin login (a superuser) unless a superuser exists. It is not a teammate: "
        "it configures the ratings and the team, and is listed nowhere among the teammates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument(
            "--logins-file",
            metavar="PATH",
            help="also note the login made, with its password, in PATH (make run's banner)",
        )

    def handle(self, *args, username, email, logins_file, **options):
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing:
            self.stdout.write(
                f"Admin login: {existing.username} (its password was printed when it was made; "
                f"`manage.py changepassword {existing.username}` sets a new one)"
            )
            return
        if User.objects.filter(username=username).exists():
            raise CommandError(
                f"The username {username!r} is taken by a user who is not a superuser: "
                "choose another with --username."
            )
        password = secrets.token_urlsafe(12)
        # No teammate profile: the admin is not one of the people answering customers (the
        # assignee choices, the teammate lists, the reports and the API list teammates only).
        User.objects.create_superuser(username=username, email=email, password=password)
        if logins_file:
            login_made(logins_file, username=username, password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Admin login: {username} / {password}  (shown once; keep it)")
        )
