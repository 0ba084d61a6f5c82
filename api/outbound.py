"""Outbound HTTP, guarded against server-side request forgery (K5, K6).

The product fetches one kind of URL: a webhook's (api.webhooks posts each rating event to it).
Every such request goes through `post` here:

- K5: the host is resolved once (`socket.getaddrinfo`), every address it resolves to is vetted,
  and the socket connects to a vetted address itself, so a name cannot resolve to a public
  address when checked and to a private one when connected (DNS rebinding). The Host header,
  TLS SNI and the certificate check stay on the host name. Refused: loopback, private,
  link-local (169.254.0.0/16, the clouds' metadata address included; fe80::/10), multicast,
  reserved, unspecified, shared (100.64.0.0/10) and any other address that is not global, and
  the same inside IPv6 (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, 6to4, Teredo,
  NAT64 64:ff9b::/96), unless `WEBHOOK_ALLOW_PRIVATE` is on. No proxy from the environment is
  used and no redirect is followed (the caller gets the 3xx and its Location). Connecting
  (resolving aside, which the system's resolver bounds) takes at most
  `WEBHOOK_CONNECT_TIMEOUT` seconds per address tried, sending the request and reading the
  answer at most `WEBHOOK_READ_TIMEOUT` seconds in all (a receiver that drips its answer is
  cut too); at most `MAX_BODY` bytes of the answer's body are read.
- K6: `url_refusal` is the same vetting for a URL about to be saved (the admin's form and the
  API's serializer): a host that resolves to a refused address, or does not resolve, is an
  error there.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_BODY = 1024  # bytes of a receiver's answer read (and dropped)
DEFAULT_PORTS = {"http": 80, "https": 443}
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # ::a.b.c.d (deprecated, RFC 4291)
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)


class OutboundError(Exception):
    """A request that could not be made or finished; the message says why, plainly."""


class Refused(OutboundError):
    """K5: the host resolved to an address the product does not connect to."""


class Unresolvable(OutboundError):
    """The host name does not resolve."""


class TimedOut(OutboundError):
    """K5: no connection, or no complete answer, within the settings' seconds."""


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


def connect_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_CONNECT_TIMEOUT", 5.0))


def read_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_READ_TIMEOUT", 10.0))


# --- which addresses ------------------------------------------------------------------------------


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes `ip` refused ("a loopback address", …), or None for a global address."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.version == 4 and ip in SHARED:
        return "a shared address (100.64.0.0/10)"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (IPv4-mapped, -compatible, 6to4, Teredo,
    NAT64), if it is one of those forms."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in IPV4_COMPATIBLE and int(ip) > 1:  # not :: nor ::1, refused as themselves
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def address_refusal(host: str, address: str) -> str | None:
    """K5: why the product does not connect to `address` (which `host` resolved to), as the
    plain sentence an admin reads in a delivery's last error or a form; None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (%eth0) aside
    kind = _kind(ip)
    inner = _embedded_ipv4(ip) if ip.version == 6 else None
    if inner is not None:
        inner_kind = _kind(inner)
        inner_kind = inner_kind and f"{inner_kind} ({inner} inside an IPv6 address)"
        # ::ffff:a.b.c.d, ::a.b.c.d and 64:ff9b::a.b.c.d (DNS64) reach a.b.c.d itself: that
        # address decides; 6to4 and Teredo addresses must pass as themselves too.
        reaches_inner = ip.ipv4_mapped or ip in IPV4_COMPATIBLE or ip in NAT64
        kind = inner_kind if reaches_inner else kind or inner_kind
    if kind is None:
        return None
    if _literal(host) == ip:
        return f"Refused: {ip} is {kind}."
    return f"Refused: {host} resolves to {ip}, {kind}."


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host written as one names (127.0.0.1, [::1]), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[tuple]:
    """Every (family, type, proto, sockaddr) `host` resolves to, resolved once."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise Unresolvable(f"The host {host} could not be resolved ({error.strerror}).") from None
    except (UnicodeError, ValueError, OSError) as error:
        raise Unresolvable(f"The host {host} could not be resolved ({error}).") from None
    if not found:
        raise Unresolvable(f"The host {host} could not be resolved (no address).")
    return found


def vetted(host: str, port: int) -> list[tuple]:
    """`resolve`, then K5: every address vetted (one refused address refuses the host)."""
    found = resolve(host, port)
    if not allow_private():
        for *_, sockaddr in found:
            refusal = address_refusal(host, sockaddr[0])
            if refusal:
                raise Refused(refusal)
    return found


def url_refusal(url: str) -> str | None:
    """K6: why a webhook URL cannot be saved (its host resolves to a refused address, or does
    not resolve), or None. For a URL that is already a valid http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None  # the URL validators say what is wrong with it
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    try:
        vetted(parts.hostname, port)
    except OutboundError as error:
        return str(error)
    return None


# --- connecting -----------------------------------------------------------------------------------


def connect_vetted(host: str, port: int, *, timeout: float) -> socket.socket:
    """K5: a TCP connection to one of `host`'s vetted addresses (in the resolver's order), the
    connection itself made to that address: nothing resolves the name again."""
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    for family, kind, proto, _name, sockaddr in vetted(host, port):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, kind, proto)
        sock.settimeout(left)
        try:
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            last = None
        except OSError as error:
            sock.close()
            last = error
        else:
            return sock
    if last is not None:
        raise last
    raise _connect_timed_out(host, timeout)


def _connect_timed_out(host: str, seconds: float) -> TimedOut:
    return TimedOut(f"Timed out: could not connect to {host} within {seconds:g} s.")


def _answer_timed_out(seconds: float) -> TimedOut:
    return TimedOut(f"Timed out: no complete answer within {seconds:g} s.")


class _VettedConnection(http.client.HTTPConnection):
    """http.client's connection, its socket made by `connect_vetted` (and wrapped in TLS for
    the host name, when `tls` is given); Host header and request as http.client makes them."""

    def __init__(self, host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None):
        super().__init__(host, port, timeout=timeout)
        self.tls = tls
        if tls is not None:
            self.default_port = 443  # the Host header names no port for 443

    def connect(self):
        sock = connect_vetted(self.host, self.port, timeout=self.timeout)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


@dataclass(frozen=True)
class Answer:
    status: int
    location: str  # the Location header of a redirect (never followed), else ""


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` under K5's guard; the answer's status (a 3xx is returned, not
    followed). Raises OutboundError (Refused, Unresolvable, TimedOut) or OSError /
    http.client.HTTPException for a network failure."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise OutboundError(f"Not an http or https URL: {url[:200]}")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # The system's trusted certificates, read now (SSL_CERT_FILE and the like apply).
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    connection = _VettedConnection(parts.hostname, port, timeout=connect_timeout(), tls=tls)
    seconds = read_timeout()
    cut = threading.Event()
    timer = None
    try:
        try:
            connection.connect()
        except TimeoutError:  # the TLS handshake's
            raise _connect_timed_out(parts.hostname, connect_timeout()) from None
        sock = connection.sock
        sock.settimeout(seconds)

        def cut_off():  # the whole answer's deadline: a dripping receiver is cut too
            cut.set()
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

        timer = threading.Timer(seconds, cut_off)
        timer.daemon = True
        timer.start()
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            response.read(MAX_BODY)
        except (OSError, http.client.HTTPException, ValueError) as error:
            if cut.is_set() or isinstance(error, TimeoutError):
                raise _answer_timed_out(seconds) from None
            raise
        if cut.is_set():
            raise _answer_timed_out(seconds)
        return Answer(status=response.status, location=response.getheader("Location", "") or "")
    finally:
        if timer is not None:
            timer.cancel()
        connection.close()
