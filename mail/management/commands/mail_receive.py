"""`manage.py mail_receive < message.eml`: take in one email as the mailbox or the webhook
would (M6–M13), to try the email channel without a mail server."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mail.inbound import mail_receive
from mail.models import InboundFailure


class Command(BaseCommand):
    help = (
        "Take in emails (RFC 5322 .eml files, or one on standard input) as customers' mail: "
        "each joins its conversation or starts one."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help=".eml files (default: standard input)")

    def handle(self, *args, files, **options):
        sources = [(name, Path(name)) for name in files] or [("standard input", None)]
        failed = 0
        for name, path in sources:
            try:
                raw = path.read_bytes() if path else sys.stdin.buffer.read()
            except OSError as error:
                raise CommandError(f"Cannot read {name}: {error}") from None
            if not raw.strip():
                raise CommandError(f"{name} is empty: give an email (an .eml file).")
            result = mail_receive(message=raw, source=InboundFailure.Source.COMMAND)
            self.stdout.write(f"{name}: {self._describe(result)}")
            failed += result.outcome == "failed"
        if failed:
            raise CommandError(f"{failed} message(s) kept in Admin → Inbound failures.")

    def _describe(self, result) -> str:
        if result.outcome in ("created", "joined"):
            verb = "new conversation" if result.outcome == "created" else "joined conversation"
            return f"{verb} #{result.conversation_id} (part {result.part.pk})"
        if result.outcome == "duplicate":
            return f"already received (conversation #{result.conversation_id}); nothing added"
        if result.outcome == "failed":
            return f"not taken in, kept as inbound failure {result.failure.pk}: {result.reason}"
        return f"ignored: {result.reason}"
