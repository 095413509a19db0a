"""The one outbound HTTP client (webhooks, Alpaca discovery): guarded against server-side request forgery.

Every request resolves its host once, refuses the whole request when any address it resolves to
is not a public one (loopback, private, link-local and cloud metadata, carrier-grade NAT,
multicast, reserved, unspecified, IPv4 mapped into IPv6) unless that address is inside
settings.OUTBOUND_ALLOWED_NETWORKS, and then connects to that checked address itself (a second
DNS answer, as in DNS rebinding, is never used). Redirects are followed only where the caller
asks, each hop checked the same way. What comes back to be shown to users is the status and a
short excerpt of printable text, never the body as is.
"""

import contextlib
import contextvars
import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from .exceptions import DomainError

EXCERPT_CHARS = 120
MAX_BODY_BYTES = 1024 * 1024
REDIRECT_CODES = {301, 302, 303, 307, 308}


class OutboundRefused(DomainError):
    """The URL may not be called: a scheme other than http(s), or an address that is not allowed."""

    def __init__(self, message: str):
        super().__init__(message, field="url")


class OutboundError(Exception):
    """The call was allowed but failed (no answer, timeout, bad TLS); the message is safe to show."""


@dataclass
class OutboundResponse:
    status: int
    body: bytes = field(repr=False)
    headers: dict

    @property
    def excerpt(self) -> str:
        return sanitized_excerpt(self.body)


def sanitized_excerpt(body: bytes) -> str:
    """At most EXCERPT_CHARS printable characters of a response: enough to recognise an error
    page, too little to read another service's data through a webhook's delivery log."""
    text = body[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
    text = re.sub(r"[^\x20-\x7e]+", " ", text).strip()
    return text[:EXCERPT_CHARS]


def resolve(host: str, port: int) -> list[str]:
    """Addresses of a host name (the true edge: tests replace it to play a rebinding DNS server)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise OutboundError(f"cannot resolve {host}") from error
    return list(dict.fromkeys(info[4][0] for info in infos))


# Addresses an operator named explicitly for this call chain (e.g. `seed_demo --alpaca-simulator
# 127.0.0.1:11111`): allowed while `allowing` is active, in this thread or task only.
_named: contextvars.ContextVar[tuple] = contextvars.ContextVar("outbound_named", default=())


@contextlib.contextmanager
def allowing(host: str, port: int = 80):
    """Allow the addresses `host` resolves to now, for the calls made inside this block only."""
    networks = tuple(ipaddress.ip_network(address.split("%")[0]) for address in resolve(host, port))
    token = _named.set(_named.get() + networks)
    try:
        yield
    finally:
        _named.reset(token)


def allowed_networks() -> list:
    configured = [ipaddress.ip_network(net, strict=False) for net in settings.OUTBOUND_ALLOWED_NETWORKS]
    return configured + list(_named.get())


def address_refusal(address: str) -> str | None:
    """Why this address may not be called, or None when it may."""
    ip = ipaddress.ip_address(address.split("%")[0])
    checked = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
    if any(checked in net or ip in net for net in allowed_networks()):
        return None
    if checked.is_loopback:
        return "a loopback address"
    if checked.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if checked.is_private or checked in ipaddress.ip_network("100.64.0.0/10"):
        return "a private address"
    if not checked.is_global or checked.is_multicast:
        return "a reserved address"
    return None


def checked_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, the one address to connect to) for an allowed URL, or OutboundRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("url must be an http:// or https:// URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise OutboundRefused("url has an invalid port") from error
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise OutboundError(f"cannot resolve {parts.hostname}")
    for address in addresses:  # one refused answer refuses the host (rebinding hosts mix them)
        if reason := address_refusal(address):
            raise OutboundRefused(
                f"url {parts.hostname} resolves to {reason}; outbound calls go to public addresses only"
            )
    return parts.scheme, parts.hostname, port, addresses[0]


def check_url(url: str) -> None:
    """Refuse a URL that could never be called (bad scheme, refused address) when it is saved.
    A host that does not resolve yet is accepted here and refused at call time if it must be."""
    with contextlib.suppress(OutboundError):
        checked_target(url)


class PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self.pinned_address = address

    def connect(self):
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self.pinned_address = address

    def connect(self):
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout_s: float = 10.0,
    max_redirects: int = 0,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> OutboundResponse:
    """One HTTP exchange with an allowed host. Raises OutboundRefused (the address is not
    allowed, here or after a redirect) or OutboundError (no usable answer)."""
    for _ in range(max_redirects + 1):
        scheme, host, port, address = checked_target(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
        connection = connection_class(host, port, address, timeout=timeout_s)
        try:
            connection.request(method, target, body=body, headers=headers or {})
            response = connection.getresponse()
            payload = response.read(max_body_bytes)
            answer = OutboundResponse(response.status, payload, {k.lower(): v for k, v in response.getheaders()})
        except TimeoutError as error:
            raise OutboundError(f"no answer within {timeout_s:g} s") from error
        except ssl.SSLError as error:
            raise OutboundError(f"TLS failed: {error.reason or 'handshake'}") from error
        except (OSError, http.client.HTTPException) as error:
            raise OutboundError("connection failed") from error
        finally:
            connection.close()
        if answer.status not in REDIRECT_CODES or not max_redirects or "location" not in answer.headers:
            return answer
        url = urljoin(url, answer.headers["location"])
        if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
            method, body = "GET", None
    raise OutboundError(f"more than {max_redirects} redirects")
