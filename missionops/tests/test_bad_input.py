"""Bodies too deep or too large, and the headers every answer carries (CSP with nonces)."""

import re

import pytest

pytestmark = pytest.mark.django_db

JSON_ENDPOINTS = ["/api/v1/documents/", "/api/v1/spacecraft/", "/api/v1/webhooks/", "/api/v1/jobs/", "/api/v1/tles/"]


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_deep_json_is_a_400_naming_the_limit(api, owner, path):
    body = "[" * 1000 + "]" * 1000
    answer = api(owner).post(path, body, content_type="application/json")
    assert answer.status_code == 400, answer.content[:300]
    assert "deeper than 32 levels" in answer.json()["detail"]


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(api, owner):
    from missionops.parsers import nesting_depth

    assert nesting_depth('{"a": "[[[[[[", "b": [[1]], "c": "\\"["}') == 3
    deep_ok = {"name": "ok", "url": "https://example.org/h", "event_kinds": ["*"]}
    answer = api(owner).post("/api/v1/webhooks/", {**deep_ok, "x": [[[[[[[[1]]]]]]]]}, format="json")
    assert answer.status_code == 201


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_oversized_json_is_a_json_413(api, owner, path, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    body = '{"name": "' + "x" * 200_000 + '"}'
    answer = api(owner).post(path, body, content_type="application/json")
    assert answer.status_code == 413 and answer["Content-Type"] == "application/json"
    assert "100000 bytes" in answer.json()["detail"]


def test_oversized_form_posts_are_a_json_413_on_pages_too(client, owner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    client.force_login(owner)
    answer = client.post("/webhooks/", {"name": "x" * 200_000, "url": "https://example.org/", "event_kinds": "*"})
    assert answer.status_code == 413 and answer.json()["detail"].startswith("request body larger than")
    answer = client.post("/login/", {"username": "x" * 200_000, "password": "y"})
    assert answer.status_code == 413


def csp(response) -> dict:
    return {d.split()[0]: d.split()[1:] for d in response["Content-Security-Policy"].split(";") if d.strip()}


PAGES = (
    "/", "/fleet/", "/events/", "/health/", "/jobs/", "/jobs/new/", "/orbits/", "/orbits/passes/", "/alarms/",
    "/alarms/kpis/", "/planning/", "/planning/plan/", "/telescopes/", "/documents/", "/webhooks/", "/api-keys/",
    "/orbits/stations/", "/orbits/element-sets/", "/orbits/contact-plans/new/", "/orbits/conjunctions/",
    "/telescopes/sessions/new/", "/documents/new/",
)  # fmt: skip


def test_csp_is_strict_and_no_page_has_inline_script_or_style(client, owner, sc_a):
    client.force_login(owner)
    for path in (*PAGES, f"/spacecraft/{sc_a.pk}/", f"/spacecraft/{sc_a.pk}/config/", f"/telemetry/{sc_a.pk}/"):
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response["Content-Type"]:
            continue
        policy = csp(response)
        assert "'unsafe-inline'" not in policy["script-src"] and policy["connect-src"] == ["'self'"], path
        html = response.content.decode()
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        # No inline script at all (issue 17): code in static files, data in json_script blocks.
        assert [a for a in inline if "application/json" not in a] == [], path
        assert "<style" not in html, path
        assert not re.search(r"\sstyle=", html), path  # sizes from data-pct-* (static/js/console.js)
        assert not re.search(r"\son[a-z]+=\"", html), path  # no inline event handlers


def test_static_files_carry_the_security_headers(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff" and response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_swagger_ui_runs_without_inline_script(client, owner):
    client.force_login(owner)
    html = client.get("/api/docs/").content.decode()
    assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html)


def test_no_template_has_an_inline_style_attribute():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.glob("templates/**/*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\sstyle=", line)
    ]
    assert found == [], "move these to static/css classes (or data-pct-* sizes): " + ", ".join(found)
