"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1), which can also refuse; the `smtp`
fixture (tests/conftest.py) points Django's SMTP backend at it."""

import email
import socket
from email import policy

from aiosmtpd.controller import Controller


class Handler:
    """Keeps every message it accepts; `refuse_at` ("RCPT" or "DATA") makes it answer
    451 at that step instead."""

    def __init__(self):
        self.messages = []
        self.refuse_at = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_at == "RCPT":
            return "451 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_at == "DATA":
            return "451 try later"
        self.messages.append(
            (
                envelope.rcpt_tos[:],
                email.message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 Message accepted for delivery"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    def __init__(self):
        self.handler = Handler()
        self.port = _free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.handler.messages
