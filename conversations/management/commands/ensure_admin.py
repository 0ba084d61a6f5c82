"""Create the first admin login, once, with a random password printed once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from conversations.logins_made import login_made
from conversations.services import teammate_create


class Command(BaseCommand):
    help = "Create an admin login (with a teammate profile) unless a superuser exists."

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
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            teammate = teammate_create(
                name="Admin", email=email, username=username, password=password
            )
            teammate.user.is_superuser = True
            teammate.user.save(update_fields=["is_superuser"])
        if logins_file:
            login_made(logins_file, username=username, password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Admin login: {username} / {password}  (shown once; keep it)")
        )
