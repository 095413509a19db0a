"""Dashboard page loads, one table: every page of the navigation (and the object pages) loaded in
Debian's Chromium against a real daphne, time from navigation start to network idle (the end of
the last request the page made, the 500 ms quiet window not counted), median of N loads, with the
demo data (4 spacecraft) and with 40 spacecraft and 10,000 more events. Peer: the login page, the
smallest page the same server renders (template, session, static files), loaded the same way.

    .venv/bin/python bench/pages.py                 # defaults: 3 loads a page
    .venv/bin/python bench/pages.py --repeat 1      # quick

Runs against its own database (BENCH_DATABASE_URL, default .../missionops_bench_pages), dropped and
made afresh; it never touches the development or test databases."""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/missionops_bench_pages")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")
os.environ.setdefault("CHANNELS_PREFIX", "missionops-bench-pages")
os.environ.setdefault("LOG_LEVEL", "WARNING")
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "missionops-demo"
LOADED = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const ends = performance.getEntriesByType("resource").map((r) => r.responseEnd);
  return Math.max(nav.loadEventEnd, nav.responseEnd, ...ends);
}"""


def manage(*args):
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, check=True, env=os.environ, stdout=subprocess.DEVNULL
    )


def fresh_database():
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "-v", "0")


def add_events(count: int) -> None:
    """`count` more operational events for the demo organization (bulk: the log's size is measured)."""
    import django

    django.setup()
    from missionops.models import Event, Organization
    from spacecraft.models import Spacecraft

    org = Organization.objects.get(slug="demo")
    fleet = list(Spacecraft.objects.filter(organization=org))
    kinds = [
        ("mode.changed", {"from": "nominal", "to": "safe", "reason": "battery"}),
        ("command.executed", {"command": "ping"}),
    ]
    Event.objects.bulk_create(
        [
            Event(
                organization=org,
                kind=kinds[i % 2][0],
                subject_type="spacecraft.spacecraft",
                subject_id=str(fleet[i % len(fleet)].pk),
                subject_repr=str(fleet[i % len(fleet)]),
                spacecraft_id=fleet[i % len(fleet)].pk,
                actor_repr="bench",
                payload=kinds[i % 2][1],
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


def pages() -> list[str]:
    import django

    django.setup()
    from anomalies.models import Anomaly
    from jobs.models import Job
    from spacecraft.models import Document, Spacecraft

    sc = Spacecraft.objects.order_by("designation").first()
    found = ["/login/", "/", "/fleet/", f"/spacecraft/{sc.pk}/", f"/spacecraft/{sc.pk}/config/", "/documents/",
             "/telemetry/", f"/telemetry/{sc.pk}/", "/alarms/", "/orbits/", "/orbits/passes/", "/orbits/stations/",
             "/orbits/element-sets/", "/jobs/", "/jobs/new/", "/telescopes/", "/events/", "/webhooks/",
             "/api-keys/", "/admin/", "/api/docs/", "/api/redoc/"]  # fmt: skip
    for model, path in ((Document, "/documents/{}/"), (Anomaly, "/alarms/{}/"), (Job, "/jobs/{}/")):
        first = model.objects.order_by("pk").first()
        if first is not None:
            found.append(path.format(first.pk))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(paths: list[str], repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "missionops.asgi:application"],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            timings = {}
            for path in paths:
                samples = []
                for _ in range(repeat + 1):  # the first load warms the server's caches: not counted
                    if path == "/login/":
                        page.context.clear_cookies()
                    page.goto(f"{base}{path}", wait_until="networkidle", timeout=120_000)
                    samples.append(page.evaluate(LOADED))
                    if path == "/login/":
                        page.fill("input[name=username]", "demo")
                        page.fill("input[name=password]", PASSWORD)
                        page.click("button[type=submit]")
                        page.wait_for_load_state("networkidle")
                timings[path] = statistics.median(samples[1:])
            browser.close()
        return timings
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # open sockets hold a graceful shutdown
            server.kill()
            server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="loads a page per dataset (median; default 3)")
    parser.add_argument("--events", type=int, default=10_000, help="events added for the large dataset")
    parser.add_argument("--json", action="store_true", help="only the summary line")
    args = parser.parse_args()

    fresh_database()
    manage("seed_demo", "--minutes", "30")
    paths = pages()
    demo = measure(paths, args.repeat)
    manage("seed_demo", "--fleet-size", "40", "--minutes", "30")
    add_events(args.events)
    large = measure(paths, args.repeat)

    if not args.json:
        peer_demo, peer_large = demo["/login/"], large["/login/"]
        print(f"{'page':34} {'demo ms':>9} {'40 sc + events ms':>18} {'× login (peer)':>15}")
        for path in paths:
            shown = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", path)
            print(f"{shown:34} {demo[path]:9.0f} {large[path]:18.0f} {large[path] / peer_large:15.1f}")
        print(f"peer: /login/ {peer_demo:.0f} ms (demo), {peer_large:.0f} ms (large)")
    summary = {
        "bench": "pages",
        "repeat": args.repeat,
        "pages": len(paths),
        "demo_max_ms": round(max(demo.values())),
        "large_max_ms": round(max(large.values())),
        "large_slowest": max(large, key=large.get),
        "under_1s_large": sum(v < 1000 for v in large.values()),
        "peer_login_ms": round(large["/login/"]),
        "demo_ms": {k: round(v) for k, v in demo.items()},
        "large_ms": {k: round(v) for k, v in large.items()},
    }
    print("--json " + json.dumps(summary))


if __name__ == "__main__":
    main()
