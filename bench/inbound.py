"""How many received messages per second become parts: by webhook, directly, over IMAP.

    .venv/bin/python bench/inbound.py [--messages 300] [--database-url URL]

Builds a FRESH database (SQLite file under /tmp by default, deleted first; a PostgreSQL URL:
created if missing, else its public schema is dropped), migrates it, then for each path takes
in N new messages (each from its own sender: a new lead and a new conversation, M6) and then N
replies (each answers one of them by In-Reply-To and joins its conversation), timed, next to
a floor that moves the same N messages the same way with no processing:

  webhook  SendGrid's Inbound Parse, "Send Raw" (a multipart form whose `email` field is the
           raw MIME), posted with HTTP basic auth through Django's test Client to anymail's
           view at /inbound/sendgrid/ (M16) | floors: the same posts to a bare view that reads
           the form and answers 200, through the same middleware; and to one that also does
           the minimal intake (below)
  direct   mail_receive(message=raw) in a loop | floors: email.message_from_bytes(raw) with the
           same policy (the parse mail_receive starts with); the minimal intake: that parse,
           the text part read, and ONE INSERT of id, sender, subject and text into a table
           of the bench's own (autocommit: one transaction a message, as mail_receive's)
  imap     imap_poll(url=…, limit=N) against a private Dovecot on 127.0.0.1 (the tests'
           helper, tests/email_channel/dovecot.py; skipped when dovecot-imapd is missing) |
           floor: one imap-tools connection that searches the unseen messages and, for each,
           fetches it (BODY.PEEK[]) and flags it seen, as the poller does, and nothing else

Each row prints messages per second and the ratio to its floor (the share of the floor's
rate that is left once the messages are made parts: 1.0 would be free). Mail goes to Django's
dummy backend; queued tasks go to the ORM broker, as without REDIS_URL.
"""

import argparse
import base64
import email
import email.policy
import json
import os
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

from benchkit import fresh_database  # bench/, the scripts' folder

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-anymail:bench-secret"
SUPPORT = "support@example.com"
BODY = (
    "Hello,\n\nsince this morning the export button does nothing: I click it, the page "
    "reloads and no file comes. I tried two browsers. Could you have a look?\n\nThanks,\n"
)


def parse():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=300, help="new messages (and replies)")
    parser.add_argument("--database-url", default="sqlite:////tmp/csat_bench_inbound.sqlite3")
    parser.add_argument("--only", nargs="+", choices=["webhook", "direct", "imap"])
    return parser.parse_args()


# --- setup --------------------------------------------------------------------------------------


def setup_django(args):
    url = args.database_url
    fresh_database(url)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "csat_project.settings",
            # DEBUG while the settings load (no HTTPS redirect); turned off below so that
            # queries are not recorded, as in production.
            "DEBUG": "true",
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DATABASE_URL": url,
            "ALLOWED_HOSTS": "testserver",
            "EMAIL_URL": "dummymail://",
            "REDIS_URL": "",
            "SUPPORT_ADDRESS": SUPPORT,
            "INBOUND_ESP": "sendgrid",
            "INBOUND_WEBHOOK_SECRET": SECRET,
            "INBOUND_IMAP_URL": "",
            "MEDIA_ROOT": tempfile.mkdtemp(prefix="csat-bench-inbound-media-"),
            "LOG_LEVEL": "ERROR",
        }
    )
    sys.path.insert(0, str(ROOT))
    # anymail 15 warns that it no longer supports SendGrid officially; its view still works.
    warnings.filterwarnings("ignore", message=".*SendGrid")
    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.DEBUG = False
    settings.ROOT_URLCONF = floor_urls()


def floor_urls() -> str:
    """The product's URLs plus `/bench/form`, the webhook's floor: a bare view that reads the
    posted form (Django parses the multipart body) and answers 200."""
    from django.http import HttpResponse
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def bare_form(request):
        return HttpResponse(str(len(request.POST["email"])), content_type="text/plain")

    @csrf_exempt
    def form_insert(request):
        minimal_intake(request.POST["email"].encode("utf-8"))
        return HttpResponse("ok", content_type="text/plain")

    module = types.ModuleType("bench_inbound_urls")
    module.urlpatterns = [
        path("bench/form", bare_form),
        path("bench/form-insert", form_insert),
        path("", include("csat_project.urls")),
    ]
    sys.modules[module.__name__] = module
    return module.__name__


FLOOR_TABLE = "bench_inbound_floor"


def floor_table() -> None:
    """The minimal intake's table: a message's id, sender, subject and text, nothing else."""
    from django.db import connection

    key = "serial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {FLOOR_TABLE} (id {key}, message_id text, sender text,"
            " subject text, body text)"
        )


def minimal_intake(raw: bytes) -> None:
    """The least a received message takes to be kept: parsed with mail_receive's policy, its
    text part read, and ONE INSERT (autocommit: its own transaction, as each message is)."""
    from django.db import connection

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FLOOR_TABLE} (message_id, sender, subject, body)"
            " VALUES (%s, %s, %s, %s)",
            [parsed["Message-ID"], parsed["From"], parsed["Subject"], body.get_content()],
        )


# --- the messages -------------------------------------------------------------------------------


def messages(path: str, count: int) -> tuple[list[bytes], list[bytes]]:
    """N new messages, each from its own sender, and N replies, one to each."""
    from tests.email_channel.support import eml

    new, replies = [], []
    for number in range(count):
        sender = f"Customer {number} <{path}.{number}@customers.example.net>"
        first = f"<{path}.{number}@client.example.net>"
        new.append(
            eml(sender=sender, subject=f"Export broken ({number})", text=BODY, message_id=first)
        )
        quoted = "\n".join(f"> {line}" for line in BODY.splitlines())
        replies.append(
            eml(
                sender=sender,
                subject=f"Re: Export broken ({number})",
                text=f"It works again, thank you!\n\nOn Mon, Support wrote:\n{quoted}\n",
                message_id=f"<{path}.{number}.re@client.example.net>",
                in_reply_to=first,
                references=first,
            )
        )
    return new, replies


def sendgrid_post(raw: bytes) -> dict:
    """SendGrid Inbound Parse with "POST the raw, full MIME message": its form fields."""
    return {
        "email": raw.decode("utf-8"),
        "to": SUPPORT,
        "from": "customer@customers.example.net",
        "subject": "Export broken",
        "sender_ip": "203.0.113.7",
        "envelope": json.dumps({"to": [SUPPORT], "from": "customer@customers.example.net"}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        "SPF": "pass",
        "spam_score": "0.1",
    }


def rate(count: int, run) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


# --- the paths ----------------------------------------------------------------------------------


def webhook(new: list[bytes], replies: list[bytes]):
    from django.test import Client

    client = Client()
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}

    def post_all(url, raws):
        def run():
            for raw in raws:
                response = client.post(url, sendgrid_post(raw), **auth)
                if response.status_code != 200:
                    raise SystemExit(f"POST {url} answered {response.status_code}")

        return run

    warm = messages("webhook-warm", 1)[0]
    post_all("/bench/form", warm)()
    post_all("/bench/form-insert", warm)()
    post_all("/inbound/sendgrid/", warm)()
    for kind, raws in (("new", new), ("reply", replies)):
        floor = rate(len(raws), post_all("/bench/form", raws))
        intake = rate(len(raws), post_all("/bench/form-insert", raws))
        measured = rate(len(raws), post_all("/inbound/sendgrid/", raws))
        yield kind, measured, floor, "bare view reading the form"
        yield kind, measured, intake, "the same + parse + one INSERT (minimal intake)"


def direct(new: list[bytes], replies: list[bytes]):
    from mail.inbound import mail_receive

    def receive_all(raws):
        return lambda: [mail_receive(message=raw) for raw in raws]

    def parse_all(raws):
        return lambda: [email.message_from_bytes(raw, policy=email.policy.default) for raw in raws]

    def intake_all(raws):
        return lambda: [minimal_intake(raw) for raw in raws]

    warm = messages("direct-warm", 1)[0]
    receive_all(warm)()
    intake_all(warm)()
    for kind, raws in (("new", new), ("reply", replies)):
        floor = rate(len(raws), parse_all(raws))
        intake = rate(len(raws), intake_all(raws))
        measured = rate(len(raws), receive_all(raws))
        yield kind, measured, floor, "email.message_from_bytes"
        yield kind, measured, intake, "parse + text part + one INSERT (minimal intake)"


def imap(new: list[bytes], replies: list[bytes]):
    from imap_tools import AND, MailBoxUnencrypted, MailMessageFlags

    from mail.imap import imap_poll
    from tests.email_channel.dovecot import PASSWORD, USER, Dovecot, DovecotMissing

    def fetch_loop(server):
        def run():
            mailbox = MailBoxUnencrypted("127.0.0.1", server.port, timeout=30)
            with mailbox.login(USER, PASSWORD) as client:
                for uid in client.uids(AND(seen=False)):
                    status, _ = client.client.uid("FETCH", uid, "(BODY.PEEK[])")
                    assert status == "OK"
                    client.flag(uid, MailMessageFlags.SEEN, True)

        return run

    def poll(server, count):
        def run():
            result = imap_poll(url=server.url, limit=count)
            if not result.startswith(f"{count} message(s)"):
                raise SystemExit(f"imap_poll: {result}")

        return run

    server = Dovecot()
    try:
        server.start()
    except DovecotMissing as missing:
        print(f"imap: skipped ({missing})")
        return
    try:
        server.append_many(messages("imap-warm", 1)[0])
        poll(server, 1)()
        for kind, raws in (("new", new), ("reply", replies)):
            server.reset()
            server.append_many(raws)
            floor = rate(len(raws), fetch_loop(server))
            server.reset()
            server.append_many(raws)
            measured = rate(len(raws), poll(server, len(raws)))
            yield kind, measured, floor, "fetch + flag seen loop"
    finally:
        server.stop()


PATHS = {"webhook": webhook, "direct": direct, "imap": imap}


def main():
    args = parse()
    setup_django(args)
    floor_table()
    from django.db import connection

    from conversations.models import Conversation, Part

    count = args.messages
    print(
        f"{count} new messages and {count} replies a path, on {connection.vendor};"
        f" machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'path':<8} {'kind':<6} {'msg/s':>8} {'floor msg/s':>12} {'ratio':>7}  floor")
    for name in args.only or PATHS:
        new, replies = messages(name, count)
        for kind, measured, floor, what in PATHS[name](new, replies):
            ratio = measured / floor
            print(
                f"{name:<8} {kind:<6} {measured:8.1f} {floor:12.1f} {ratio:7.3f}  {what}",
                flush=True,
            )
        # Every message made a part, each reply in the conversation it answers.
        parts = Part.objects.filter(message_id__startswith=f"<{name}.")
        conversations = parts.values("conversation_id").distinct().count()
        if (parts.count(), conversations) != (2 * count, count):
            raise SystemExit(f"{name}: {parts.count()} parts in {conversations} conversations")
    print(f"all in: {Conversation.objects.count()} conversations, {Part.objects.count()} parts")


if __name__ == "__main__":
    main()
