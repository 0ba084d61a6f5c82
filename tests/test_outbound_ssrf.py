"""K5, K6: outbound requests guarded against server-side request forgery.

K5: a webhook's post resolves the host once, vets every address (loopback, private, link-local,
multicast, reserved, unspecified, shared and their IPv6 forms are refused unless
WEBHOOK_ALLOW_PRIVATE) and connects to the vetted address (no DNS rebinding); redirects are
never followed; connecting and reading are bounded. K6: a webhook whose host resolves to a
refused address, or does not resolve, is not saved (admin and API).

Receivers are real HTTP(S) servers on 127.0.0.1; the only thing replaced is the resolver
(`socket.getaddrinfo`), the one part outside this machine, where a test needs a name.
"""

import contextlib
import datetime as dt
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.contrib.auth.models import Group

from api import outbound, webhooks
from api.models import Webhook, WebhookDelivery
from ratings.services import rating_submit
from tests.factories import TeammateFactory
from tests.report_helpers import requested, token_for

SECRET = "a-shared-secret-of-some-length"
T0 = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
PUBLIC = "93.184.215.14"  # a global address (never connected to here)


class Receiver:
    """A real HTTP server on 127.0.0.1 (a random port). Each request is recorded, then
    `answer(handler)` writes the response (a 200 by default)."""

    def __init__(self, answer=None, *, tls: ssl.SSLContext | None = None, host="127.0.0.1"):
        self.received = []
        self.release = threading.Event()  # set on close: a slow answer stops waiting
        receiver = self
        answer = answer or ok

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))
                with contextlib.suppress(OSError):  # the client went away (cut off)
                    answer(self, receiver)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.port = self.server.server_address[1]
        self.url = f"{scheme}://{host}:{self.port}/hooks/csat"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def ok(handler, receiver):
    handler.send_response(200)
    handler.send_header("Content-Length", "2")
    handler.end_headers()
    handler.wfile.write(b"ok")


@pytest.fixture
def receivers():
    """Receivers made in a test, closed after it."""
    made = []

    def make(*args, **kwargs):
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


class Resolver:
    """socket.getaddrinfo for the names in `answers`: each call answers the next list of
    addresses (the last one again once they run out); other names as the system resolves."""

    def __init__(self, real):
        self.real = real
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        self.calls.append(host)
        turns = self.answers[host]
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]


@pytest.fixture
def dns(monkeypatch):
    resolver = Resolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


@pytest.fixture
def rating_token(capture, teammate):
    return token_for(requested(capture, teammate, at=T0 - dt.timedelta(minutes=1)))


def deliver(capture, token, *, at=T0) -> WebhookDelivery:
    """A rating at `at`, its webhook post sent on commit (the queue runs in the test)."""
    with time_machine.travel(at, tick=False), capture(execute=True):
        rating_submit(token=token, value=5)
    return WebhookDelivery.objects.get()


# --- K5: which addresses ------------------------------------------------------------------------

REFUSED = {
    "127.0.0.1": "a loopback address",
    "127.8.9.10": "a loopback address",
    "10.1.2.3": "a private address",
    "172.16.0.1": "a private address",
    "192.168.1.1": "a private address",
    "169.254.169.254": "a link-local address",  # the clouds' metadata address
    "100.64.0.1": "a shared address (100.64.0.0/10)",
    "0.0.0.0": "an unspecified address",
    "224.0.0.1": "a multicast address",
    "240.0.0.1": "a reserved address",
    "255.255.255.255": "a reserved address",
    "192.0.2.1": "a private address",  # documentation: not global
    "::": "an unspecified address",
    "::1": "a loopback address",
    "fe80::1": "a link-local address",
    "fe80::1%lo": "a link-local address",
    "ff02::1": "a multicast address",
    "fc00::1": "a private address",
    "::ffff:127.0.0.1": "a loopback address (127.0.0.1 inside an IPv6 address)",
    "::ffff:169.254.169.254": "a link-local address (169.254.169.254 inside an IPv6 address)",
    "::ffff:10.0.0.1": "a private address (10.0.0.1 inside an IPv6 address)",
    "::127.0.0.1": "a loopback address (127.0.0.1 inside an IPv6 address)",  # IPv4-compatible
    "64:ff9b::a9fe:a9fe": "a link-local address (169.254.169.254 inside an IPv6 address)",
    "2002:7f00:1::": "a loopback address (127.0.0.1 inside an IPv6 address)",  # 6to4
}


@pytest.mark.parametrize("address, kind", REFUSED.items())
def test_K5_refused_addresses_say_what_they_are(address, kind):
    refusal = outbound.address_refusal("hooks.example.net", address)
    assert refusal is not None and refusal.endswith(f", {kind}.")
    assert refusal.startswith("Refused: hooks.example.net resolves to ")


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_K5_global_addresses_are_not_refused(address):
    assert outbound.address_refusal("hooks.example.net", address) is None


def test_K5_an_address_written_in_the_url_is_named_once():
    assert outbound.address_refusal("127.0.0.1", "127.0.0.1") == (
        "Refused: 127.0.0.1 is a loopback address."
    )
    assert outbound.address_refusal("[::1]", "::1") == "Refused: ::1 is a loopback address."


@pytest.mark.parametrize(
    "url, refusal",
    [
        ("http://2130706433/", "Refused: 2130706433 resolves to 127.0.0.1, a loopback address."),
        ("http://0x7f.1/", "Refused: 0x7f.1 resolves to 127.0.0.1, a loopback address."),
        ("http://127.1:8000/", "Refused: 127.1 resolves to 127.0.0.1, a loopback address."),
    ],
)
def test_K5_odd_spellings_of_an_address_are_vetted_as_what_they_resolve_to(url, refusal):
    """The resolved address is vetted, not the text of the URL."""
    assert outbound.url_refusal(url) == refusal


# --- K5: at connect time ------------------------------------------------------------------------


def test_K5_a_webhook_to_127_0_0_1_is_refused_by_default_and_delivered_when_allowed(
    receivers, rating_token, capture, settings
):
    """Nothing reaches the receiver; the refusal is a failed try, retried by the same rules
    (1, 2, 4 … minutes, given up after MAX_ATTEMPTS); once private addresses are allowed, the
    next try delivers."""
    receiver = receivers()
    Webhook.objects.create(url=receiver.url, secret=SECRET)  # saved before K6, say
    delivery = deliver(capture, rating_token)
    assert receiver.received == []
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == "Refused: 127.0.0.1 is a loopback address."
    assert delivery.next_attempt_at == T0 + dt.timedelta(minutes=1)

    settings.WEBHOOK_ALLOW_PRIVATE = True
    with time_machine.travel(T0 + dt.timedelta(minutes=1), tick=False):
        assert webhooks.webhook_deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, "")
    assert len(receiver.received) == 1


def test_K5_a_refused_address_is_given_up_after_max_attempts(receivers, rating_token, capture):
    receiver = receivers()
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    delivery = deliver(capture, rating_token)
    while delivery.status == "pending":
        with time_machine.travel(delivery.next_attempt_at, tick=False):
            assert webhooks.webhook_deliveries_sweep() == 1
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert delivery.last_error == "Refused: 127.0.0.1 is a loopback address."
    assert receiver.received == []


def test_K5_the_name_localhost_is_refused(receivers, rating_token, capture):
    receiver = receivers(host="localhost")
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    delivery = deliver(capture, rating_token)
    assert receiver.received == []
    assert delivery.last_error.startswith("Refused: localhost resolves to ")
    assert delivery.last_error.endswith(", a loopback address.")


def test_K5_one_refused_address_refuses_the_host(dns, receivers, rating_token, capture):
    """A name that resolves to a public address and a private one is refused: the socket
    could be connected to either."""
    receiver = receivers(host="mixed.example.net")
    dns.answers["mixed.example.net"] = [[PUBLIC, "127.0.0.1"]]
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    delivery = deliver(capture, rating_token)
    assert receiver.received == []
    assert delivery.last_error == (
        "Refused: mixed.example.net resolves to 127.0.0.1, a loopback address."
    )


def test_K5_dns_rebinding_is_refused_at_connect(dns, receivers, rating_token, capture, as_admin):
    """The name resolves to a public address when the webhook is saved, to 127.0.0.1 when the
    post is sent: the address actually connected to is vetted, so the post is refused."""
    receiver = receivers(host="rebind.example.net")
    dns.answers["rebind.example.net"] = [[PUBLIC], ["127.0.0.1"]]
    response = as_admin.post(
        "/api/v1/webhooks/", {"url": receiver.url, "secret": SECRET}, format="json"
    )
    assert response.status_code == 201, response.json()
    delivery = deliver(capture, rating_token)
    assert dns.calls == ["rebind.example.net", "rebind.example.net"]  # at save, at connect
    assert receiver.received == []
    assert delivery.last_error == (
        "Refused: rebind.example.net resolves to 127.0.0.1, a loopback address."
    )


def test_K5_the_post_connects_to_the_vetted_address_and_keeps_the_host_name(
    dns, receivers, rating_token, capture, allow_private
):
    """Resolved once per try: nothing resolves the name again between the vetting and the
    connection; the Host header still names the host."""
    receiver = receivers(host="hooks.example.net")
    dns.answers["hooks.example.net"] = [["127.0.0.1"], [PUBLIC]]  # a second lookup would miss
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    delivery = deliver(capture, rating_token)
    assert (delivery.status, delivery.last_error) == ("delivered", "")
    assert dns.calls == ["hooks.example.net"]
    ((headers, _body),) = receiver.received
    assert headers["Host"] == f"hooks.example.net:{receiver.port}"


def test_K5_a_redirect_is_not_followed(receivers, rating_token, capture, allow_private):
    elsewhere = receivers()

    def redirect(handler, receiver):
        handler.send_response(302)
        handler.send_header("Location", elsewhere.url)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    receiver = receivers(redirect)
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    delivery = deliver(capture, rating_token)
    assert len(receiver.received) == 1 and elsewhere.received == []
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert delivery.last_error == f"Redirect not followed (302 to {elsewhere.url})."


def test_K5_a_receiver_that_accepts_no_connection_is_cut_at_the_connect_timeout(
    rating_token, capture, allow_private, settings
):
    """A listening socket whose queue is full: the connection never completes."""
    settings.WEBHOOK_CONNECT_TIMEOUT = 0.5
    full, waiting = socket.socket(), []
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    port = full.getsockname()[1]
    try:
        for _ in range(3):
            waiting.append(socket.socket())
            waiting[-1].setblocking(False)
            waiting[-1].connect_ex(("127.0.0.1", port))
        Webhook.objects.create(url=f"http://127.0.0.1:{port}/hook", secret=SECRET)
        started = time.monotonic()
        delivery = deliver(capture, rating_token)
        assert time.monotonic() - started < 3
    finally:
        for sock in [*waiting, full]:
            sock.close()
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert delivery.last_error == "Timed out: could not connect to 127.0.0.1 within 0.5 s."


def test_K5_a_slow_receiver_is_cut_at_the_read_timeout(
    receivers, rating_token, capture, allow_private, settings
):
    settings.WEBHOOK_READ_TIMEOUT = 0.5

    def slow(handler, receiver):
        receiver.release.wait(10)
        ok(handler, receiver)

    receiver = receivers(slow)
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    started = time.monotonic()
    delivery = deliver(capture, rating_token)
    assert time.monotonic() - started < 3
    assert len(receiver.received) == 1
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert delivery.last_error == "Timed out: no complete answer within 0.5 s."


def test_K5_a_receiver_that_drips_its_answer_is_cut_at_the_total_timeout(
    receivers, rating_token, capture, allow_private, settings
):
    """Each byte comes well within the timeout, the whole answer does not: the bound is on
    the answer, not on each read."""
    settings.WEBHOOK_READ_TIMEOUT = 0.6

    def drip(handler, receiver):
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"s" * 200:
            if receiver.release.wait(0.05):
                return
            handler.wfile.write(bytes([byte]))

    receiver = receivers(drip)
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    started = time.monotonic()
    delivery = deliver(capture, rating_token)
    assert time.monotonic() - started < 3
    assert delivery.last_error == "Timed out: no complete answer within 0.6 s."


def test_K5_the_answer_body_read_is_capped(receivers, rating_token, capture, allow_private):
    """A receiver that answers an endless body: the post reads MAX_BODY bytes and is done."""
    sent = []

    def endless(handler, receiver):
        handler.send_response(200)
        handler.send_header("Content-Length", str(10**9))
        handler.end_headers()
        chunk = b"x" * 65536
        while not receiver.release.is_set() and sum(sent) < 10**9:
            handler.wfile.write(chunk)
            sent.append(len(chunk))

    receiver = receivers(endless)
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    started = time.monotonic()
    delivery = deliver(capture, rating_token)
    assert time.monotonic() - started < 3
    assert (delivery.status, delivery.last_status_code) == ("delivered", 200)


# --- K5: TLS keeps the host name ----------------------------------------------------------------


def _certificate(tmp_path, name):
    """A certificate authority (its file) and a server context whose certificate names
    `name`, signed by it."""
    now = dt.datetime.now(dt.UTC)

    def make(subject, issuer, key, signer, *, ca, san=None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = make("csat test CA", "csat test CA", ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make(name, "csat test CA", key, ca_key, ca=False, san=name)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(
        cert.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    return tmp_path / "ca.pem", context


@pytest.mark.parametrize("certified", ["hooks.example.net", "other.example.net"])
def test_K5_tls_checks_the_certificate_and_sends_sni_for_the_host_name(
    certified, tmp_path, monkeypatch, dns, receivers, rating_token, capture, allow_private
):
    """The socket is connected to the vetted address, the TLS handshake still names the host
    (SNI) and the certificate must be the host's: another name's is refused."""
    ca_file, context = _certificate(tmp_path, certified)
    names = []
    context.sni_callback = lambda _sock, name, _context: names.append(name)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the system's trust, for this test
    receiver = receivers(tls=context, host="hooks.example.net")
    dns.answers["hooks.example.net"] = [["127.0.0.1"]]
    Webhook.objects.create(url=receiver.url, secret=SECRET)
    delivery = deliver(capture, rating_token)
    assert names == ["hooks.example.net"]
    if certified == "hooks.example.net":
        assert (delivery.status, delivery.last_status_code) == ("delivered", 200)
        assert len(receiver.received) == 1
    else:
        assert delivery.status == "pending" and receiver.received == []
        assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
        assert "hooks.example.net" in delivery.last_error  # the name it checked


# --- K6: saving a webhook ----------------------------------------------------------------------


@pytest.fixture
def as_admin(api_login, api_admin):
    return api_login(api_admin.user)


@pytest.fixture
def admins_client(db, client):
    admin = TeammateFactory()
    admin.user.groups.add(Group.objects.get(name="Admins"))
    client.force_login(admin.user)
    return client


REFUSED_URLS = {
    "http://127.0.0.1:8000/hook": "Refused: 127.0.0.1 is a loopback address.",
    "http://localhost/hook": "Refused: localhost resolves to ",
    "http://169.254.169.254/latest/meta-data/": "Refused: 169.254.169.254 is a link-local",
    "http://10.0.0.5/hook": "Refused: 10.0.0.5 is a private address.",
    "http://100.64.0.1/hook": "Refused: 100.64.0.1 is a shared address (100.64.0.0/10).",
    "http://0.0.0.0:8000/hook": "Refused: 0.0.0.0 is an unspecified address.",
    "http://[::1]/hook": "Refused: ::1 is a loopback address.",
    "http://[fe80::1]/hook": "Refused: fe80::1 is a link-local address.",
    "http://[::ffff:127.0.0.1]/hook": "Refused: ::ffff:7f00:1 is a loopback address (127.0.0.1",
    "https://private.example.net/hook": "Refused: private.example.net resolves to 192.168.0.9",
    "https://nothing.invalid/hook": "The host nothing.invalid could not be resolved (",
}


@pytest.fixture
def names(dns):
    dns.answers["private.example.net"] = [["192.168.0.9"]]
    dns.answers["public.example.net"] = [[PUBLIC]]
    return dns


@pytest.mark.parametrize("url, refusal", REFUSED_URLS.items())
def test_K6_the_api_refuses_a_webhook_whose_host_is_refused(as_admin, names, url, refusal):
    response = as_admin.post("/api/v1/webhooks/", {"url": url, "secret": SECRET}, format="json")
    assert response.status_code == 400
    (message,) = response.json()["fields"]["url"]
    assert message.startswith(refusal)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url, refusal", REFUSED_URLS.items())
def test_K6_the_admin_refuses_a_webhook_whose_host_is_refused(admins_client, names, url, refusal):
    data = {"url": url, "secret": SECRET, "description": "", "active": "on"}
    response = admins_client.post("/admin/api/webhook/add/", data)
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors["url"]
    assert len(errors) == 1 and errors[0].startswith(refusal)
    assert refusal.split(" (")[0] in response.content.decode()
    assert not Webhook.objects.exists()


def test_K6_changing_a_webhook_to_a_refused_host_changes_nothing(as_admin, admins_client, names):
    webhook = Webhook.objects.create(url="https://public.example.net/hook", secret=SECRET)
    response = as_admin.patch(
        f"/api/v1/webhooks/{webhook.pk}/", {"url": "http://127.0.0.1/x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["url"] == ["Refused: 127.0.0.1 is a loopback address."]
    data = {"url": "http://[::1]/x", "secret": SECRET, "description": "", "active": "on"}
    response = admins_client.post(f"/admin/api/webhook/{webhook.pk}/change/", data)
    assert response.status_code == 200
    webhook.refresh_from_db()
    assert webhook.url == "https://public.example.net/hook"


def test_K6_public_hosts_are_saved_and_private_ones_when_allowed(
    as_admin, admins_client, names, settings
):
    response = as_admin.post(
        "/api/v1/webhooks/",
        {"url": "https://public.example.net/hook", "secret": SECRET},
        format="json",
    )
    assert response.status_code == 201, response.json()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    response = as_admin.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:8000/hook", "secret": SECRET}, format="json"
    )
    assert response.status_code == 201, response.json()
    data = {"url": "https://private.example.net/hook", "secret": SECRET, "active": "on"}
    assert admins_client.post("/admin/api/webhook/add/", data).status_code == 302
    # A host that does not resolve is an error even then.
    response = as_admin.post(
        "/api/v1/webhooks/", {"url": "https://nothing.invalid/x", "secret": SECRET}, format="json"
    )
    assert response.status_code == 400
    assert Webhook.objects.count() == 3
