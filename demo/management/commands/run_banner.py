"""`make run`'s banner: `manage.py run_banner --port 8000 [--logins-file .run/logins]`."""

from django.core.management.base import BaseCommand

from conversations.logins_made import logins_take
from demo.banner import banner


class Command(BaseCommand):
    requires_system_checks = []  # runserver has run them; this only prints
    help = (
        "Print where the app runs, every login (with the password of those the logins file "
        "notes, which it then deletes: shown once), the demo pages, the sent mail and the "
        "health check."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--logins-file",
            metavar="PATH",
            help="the logins ensure_admin and seed_demo made in this run (read, then deleted)",
        )

    def handle(self, *args, port, logins_file, **options):
        made = logins_take(logins_file) if logins_file else {}
        self.stdout.write(banner(port=port, made=made))
