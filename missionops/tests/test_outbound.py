"""The SSRF-guarded outbound client against local fixture servers; nothing leaves 127.0.0.1.

Refused addresses are refused before any connection is made, so the private and public addresses
named below are never contacted."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from missionops import outbound
from missionops.models import WebhookDelivery
from missionops.services import webhooks

REFUSED = [
    "http://127.0.0.1:5432/",
    "http://localhost:6379/",
    "http://[::1]:8000/",
    "http://10.0.0.5/",
    "http://172.16.3.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fe80::1]/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0:8000/",
    "http://[::ffff:127.0.0.1]:8000/",  # IPv4 mapped into IPv6
    "http://[::ffff:10.0.0.5]/",
    "http://224.0.0.1/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f.1/",
]


@pytest.fixture
def nothing_allowed(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []


class Server:
    def __init__(self, status=200, body=b"ok", location=None):
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.requests.append((self.path, self.headers.get("Host")))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    made = []

    def make(**kwargs):
        made.append(Server(**kwargs))
        return made[-1]

    yield make
    for s in made:
        s.httpd.shutdown()


@pytest.mark.parametrize("url", REFUSED)
def test_internal_addresses_are_refused(nothing_allowed, url):
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.request("GET", url, timeout_s=1)
    assert "public addresses only" in refused.value.message and refused.value.field == "url"


def test_only_http_and_https(nothing_allowed):
    for url in ("file:///etc/passwd", "gopher://example.org/", "http:///nohost"):
        with pytest.raises(outbound.OutboundRefused):
            outbound.request("GET", url)


def test_allow_list_opens_a_network(settings, server):
    s = server(body=b"hello")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    answer = outbound.request("GET", f"http://127.0.0.1:{s.port}/x?y=1")
    assert answer.status == 200 and answer.body == b"hello" and s.requests == [("/x?y=1", f"127.0.0.1:{s.port}")]
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("GET", f"http://127.0.0.1:{s.port}/x")
    assert len(s.requests) == 1


def test_a_host_with_any_refused_address_is_refused(nothing_allowed, monkeypatch):
    # DNS is the true edge: a rebinding server answers a public and an internal address together.
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.216.34", "127.0.0.1"])
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("GET", "http://rebind.example/")


def test_the_checked_address_is_pinned_for_the_connection(settings, monkeypatch, server):
    """DNS rebinding: the first answer is checked and used; a later, internal answer never is."""
    s = server()
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    answers = [["127.0.0.1"]]
    calls = []

    def rebinding_dns(host, port):
        calls.append(host)
        return answers[0] if len(calls) == 1 else ["10.0.0.5"]

    monkeypatch.setattr(outbound, "resolve", rebinding_dns)
    answer = outbound.request("GET", f"http://rebind.example:{s.port}/")
    assert answer.status == 200 and calls == ["rebind.example"]
    assert s.requests == [("/", f"rebind.example:{s.port}")]  # the Host is the name; the socket the address


def test_no_redirect_into_a_refused_range(settings, server):
    target = server(body=b"internal secret")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    hop = server(status=302, location=f"http://127.0.0.2:{target.port}/")
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("GET", f"http://127.0.0.1:{hop.port}/", max_redirects=3)
    assert target.requests == []
    # Without max_redirects a redirect is answered as it is, never followed.
    assert outbound.request("GET", f"http://127.0.0.1:{hop.port}/").status == 302
    fine = server(status=302, location=f"http://127.0.0.1:{target.port}/there")
    assert outbound.request("GET", f"http://127.0.0.1:{fine.port}/", max_redirects=3).body == b"internal secret"


def test_excerpt_is_short_and_printable():
    body = b"\x1b[31mroot:x:0:0\x00\n" + b"A" * 5000
    answer = outbound.OutboundResponse(200, body, {})
    assert len(answer.excerpt) <= outbound.EXCERPT_CHARS
    assert "\x1b" not in answer.excerpt and "\x00" not in answer.excerpt and "\n" not in answer.excerpt


@pytest.mark.django_db
def test_a_webhook_to_an_internal_address_is_refused(api, owner, nothing_allowed):
    for url in ("http://127.0.0.1:6379/", "http://169.254.169.254/", "http://[::ffff:192.168.0.1]/"):
        answer = api(owner).post("/api/v1/webhooks/", {"name": "x", "url": url, "event_kinds": ["*"]}, format="json")
        assert answer.status_code == 400 and answer.json()["field"] == "url", answer.json()
        assert "public addresses only" in answer.json()["detail"]
    from missionops.models import Webhook

    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_a_delivery_to_a_host_that_now_resolves_internally_sends_nothing(org_a, owner, settings, server, monkeypatch):
    from missionops.services import record_event

    s = server(body=b"internal data")
    hook = webhooks.create_webhook(
        organization=org_a, name="h", url=f"http://127.0.0.1:{s.port}/", event_kinds=["*"], actor=owner
    )
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # e.g. its name now resolves to loopback
    record_event(organization=org_a, kind="mode.changed", payload={})
    delivery = webhooks.deliver(delivery_id=WebhookDelivery.objects.get(webhook=hook).pk)
    assert s.requests == [] and delivery.status_code is None and delivery.response_excerpt == ""
    assert "loopback" in delivery.error


@pytest.mark.django_db
def test_allow_listed_answers_show_little(org_a, owner, server):
    from missionops.testing import free_port

    s = server(body=b"x" * 2000)
    closed = free_port()
    answers = []
    for url in (f"http://127.0.0.1:{s.port}/", f"http://127.0.0.1:{closed}/"):
        hook = webhooks.create_webhook(organization=org_a, name=url, url=url, event_kinds=["none"], actor=owner)
        answers.append(webhooks.send_test(webhook=hook, actor=owner))
    for delivery in answers:
        webhooks.deliver(delivery_id=delivery.pk)
    opened, shut = (WebhookDelivery.objects.get(pk=d.pk) for d in answers)
    assert opened.status_code == 200 and len(opened.response_excerpt) <= outbound.EXCERPT_CHARS
    assert shut.error == "connection failed"
