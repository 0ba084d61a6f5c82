"""The SMTP sink of `bench/topology.py`: accepts mail on 127.0.0.1 and logs each message.

    python bench/topology_sink.py --port N --log FILE --refuse-flag FILE --slow-flag FILE

Each accepted message becomes one JSON line in --log: the rating request and conversation its
/rate/ links name (read with `ratings.tokens.rating_token_read`, so SECRET_KEY must be the
site's), and the link of each reaction. While the file --refuse-flag exists, every recipient
is answered `451 4.3.2` (try again later), as a mail server that is briefly unavailable; each
refusal is logged as {"refused": 1}. While --slow-flag exists, recipients wait for an answer
(before any message data is sent), as a slow mail server. Runs until SIGTERM or SIGINT.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"(https?://[^\s\"'<>]+/rate/([^/\s\"'<>]+)/)")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--refuse-flag", required=True)
    parser.add_argument("--slow-flag", required=True)
    return parser.parse_args()


def main():
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from django.conf import settings

    settings.configure(SECRET_KEY=os.environ["SECRET_KEY"])
    from aiosmtpd.controller import Controller

    from ratings.tokens import BadToken, rating_token_read

    log = open(args.log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the run
    refuse_flag = Path(args.refuse_flag)
    slow_flag = Path(args.slow_flag)

    def write(record):
        log.write(json.dumps(record, separators=(",", ":")) + "\n")

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            while slow_flag.exists():  # a slow mail server: the sender waits before DATA
                await asyncio.sleep(0.05)
            if refuse_flag.exists():
                write({"refused": 1, "t": time.time()})
                return "451 4.3.2 Mail service unavailable for a while, try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            part = message.get_body(preferencelist=("plain",))
            text = part.get_content() if part is not None else ""
            links = {}
            request_id = conversation_id = None
            for url, token in LINK.findall(text):
                try:
                    link = rating_token_read(token)
                except BadToken:
                    continue
                request_id, conversation_id = link.request_id, link.conversation_id
                if link.value is not None:
                    links[str(link.value)] = url
            write(
                {
                    "t": time.time(),
                    "request": request_id,
                    "conversation": conversation_id,
                    "message_id": message.get("Message-ID", ""),
                    "links": links,
                }
            )
            return "250 Message accepted"

    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port)
    controller.start()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()
        log.close()


if __name__ == "__main__":
    main()
