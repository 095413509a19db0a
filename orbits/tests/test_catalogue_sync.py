"""Catalogue clients against a local fixture server answering in CelesTrak's and Space-Track's
documented formats (no network): formats, rate limits, conditional requests, bad payloads."""

import io
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from sgp4 import exporter

from orbits import propagation as prop
from orbits.exceptions import CatalogueFormatError, CatalogueRateLimitError, CatalogueSyncError
from orbits.models import TLE, CatalogueObject, CatalogueSync
from orbits.services import catalogue_sync

from .conftest import DATA

pytestmark = pytest.mark.django_db

ETAG = '"gp-v1"'
LAST_MODIFIED = "Sun, 06 Dec 2026 20:00:00 GMT"


def mixed_sets():
    lines = [line for line in (DATA / "mixed.tle").read_text().splitlines() if line.strip()]
    return [(lines[i].strip(), lines[i + 1], lines[i + 2]) for i in range(0, len(lines), 3)]


def omm_records(sets):
    return [exporter.export_omm(prop.satrec_from_lines(a, b), name) for name, a, b in sets]


def omm_xml(records) -> str:
    meta = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM", "MEAN_ELEMENT_THEORY")
    mean = [
        "EPOCH",
        "MEAN_MOTION",
        "ECCENTRICITY",
        "INCLINATION",
        "RA_OF_ASC_NODE",
        "ARG_OF_PERICENTER",
        "MEAN_ANOMALY",
    ]
    tle = ["EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH", "BSTAR"]
    tle += ["MEAN_MOTION_DOT", "MEAN_MOTION_DDOT"]

    def tags(r, names):
        return "".join(f"<{n}>{r[n]}</{n}>" for n in names)

    body = "".join(
        f"<omm><header/><body><segment><metadata>{tags(r, meta)}</metadata><data><meanElements>{tags(r, mean)}"
        f"</meanElements><tleParameters>{tags(r, tle)}</tleParameters></data></segment></body></omm>"
        for r in records
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><ndm>{body}</ndm>'


class FixtureServer(BaseHTTPRequestHandler):
    requests: list = []
    bad_spacetrack: str = ""  # "gp", "history" (a bad set) or "history-other" (another object's set)

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        self.requests.append(("GET", self.path, dict(self.headers)))
        if url.path == "/gp.php":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if self.headers.get("If-None-Match") == ETAG:
                return self.answer(304)
            sets = mixed_sets()
            if query.get("CATNR"):
                sets = [s for s in sets if s[1][2:7].strip() == query["CATNR"]]
            if query.get("GROUP") == "broken":
                records = omm_records(sets)
                records[1]["ECCENTRICITY"] = 1.7
                return self.answer(200, json.dumps(records).encode(), {"ETag": '"b"'})
            if query.get("GROUP") == "teapot":
                return self.answer(418, b"no")
            if not sets or query.get("GROUP") == "empty":
                return self.answer(200, b"No GP data found")
            fmt = query.get("FORMAT")
            if fmt == "json":
                body = json.dumps(omm_records(sets))
            elif fmt == "xml":
                body = omm_xml(omm_records(sets))
            else:
                body = "".join(f"{n}\r\n{a}\r\n{b}\r\n" for n, a, b in sets)
            return self.answer(200, body.encode(), {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})
        if url.path.startswith("/basicspacedata/query/class/"):
            if "chocolatechip=st-session" not in (self.headers.get("Cookie") or ""):
                return self.answer(401, b'{"error":"You must be logged in"}')
            if "/class/gp_history/" in url.path:
                norad = url.path.split("/NORAD_CAT_ID/")[1].split("/")[0]
                name, a, b = next(s for s in mixed_sets() if s[1][2:7].strip() == norad)
                records = []
                for days in (1, 2, 3):
                    r = exporter.export_omm(prop.satrec_from_lines(a, b), name)
                    r["EPOCH"] = r["EPOCH"].replace("2024-03-20", f"2024-03-{20 - days:02d}")
                    records.append(r)
                if self.bad_spacetrack == "history":
                    records[2]["ECCENTRICITY"] = 1.7
                if self.bad_spacetrack == "history-other":
                    records[2]["NORAD_CAT_ID"] = 90003
                return self.answer(200, json.dumps(records).encode())
            records = omm_records(mixed_sets())
            if self.bad_spacetrack == "gp":
                records[3]["MEAN_MOTION"] = "fast"
            return self.answer(200, json.dumps(records).encode())
        return self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.requests.append(("POST", self.path, form))
        if self.path == "/ajaxauth/login" and form == {"identity": "ops@example.org", "password": "secret"}:
            return self.answer(200, b'""', {"Set-Cookie": "chocolatechip=st-session; path=/"})
        return self.answer(200, b'{"Login":"Failed"}')


@pytest.fixture
def fixture_server(settings):
    FixtureServer.requests = []
    FixtureServer.bad_spacetrack = ""
    cache.delete(catalogue_sync.SPACETRACK_REQUEST_LOG)  # the shared request log: each test starts afresh
    server = ThreadingHTTPServer(("127.0.0.1", 0), FixtureServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.ORBITS_CELESTRAK_GP_URL = f"{base}/gp.php"
    settings.ORBITS_SPACETRACK_URL = base
    settings.ORBITS_SPACETRACK_IDENTITY = "ops@example.org"
    settings.ORBITS_SPACETRACK_PASSWORD = "secret"
    settings.ORBITS_CELESTRAK_GROUPS = ["active"]
    yield FixtureServer.requests
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("fmt", ["json", "xml", "tle"])
def test_celestrak_group_in_every_format(fixture_server, fmt):
    result = catalogue_sync.sync_celestrak(group="active", fmt=fmt)
    assert result.status == "stored" and result.stored == 5
    assert set(CatalogueObject.objects.values_list("norad_id", flat=True)) == {90001, 90002, 90003, 90004, 90005}
    geo = CatalogueObject.objects.get(norad_id=90004)
    assert geo.object_name == "TEST GEO" and geo.epoch.year == 2024
    assert f"FORMAT={catalogue_sync.FORMATS[fmt]}" in fixture_server[0][1]


def test_celestrak_catalogue_number(fixture_server):
    assert catalogue_sync.sync_celestrak(catnr=90003).stored == 1
    assert list(CatalogueObject.objects.values_list("norad_id", flat=True)) == [90003]


def test_rate_limit_and_conditional_requests(fixture_server):
    now = timezone.now()
    assert catalogue_sync.sync_celestrak(group="active", now=now).status == "stored"
    again = catalogue_sync.sync_celestrak(group="active", now=now + timedelta(minutes=30))
    assert again.status == "skipped" and len(fixture_server) == 1  # not asked twice within 2 h
    later = catalogue_sync.sync_celestrak(group="active", now=now + timedelta(hours=2, seconds=1))
    assert later.status == "not-modified" and len(fixture_server) == 2
    headers = fixture_server[1][2]
    assert headers["If-None-Match"] == ETAG and headers["If-Modified-Since"] == LAST_MODIFIED
    row = CatalogueSync.objects.get(source="celestrak")
    assert row.etag == ETAG and row.objects_stored == 5 and row.last_status == "not-modified"


@pytest.mark.parametrize(
    "group,error,match",
    [
        ("broken", CatalogueFormatError, "record 2.*ECCENTRICITY"),
        ("empty", CatalogueFormatError, "No GP data found"),
        ("teapot", CatalogueSyncError, "HTTP 418"),
    ],
)
def test_bad_answers_are_refused_with_a_clear_error_and_store_nothing(fixture_server, group, error, match):
    with pytest.raises(error, match=match):
        catalogue_sync.sync_celestrak(group=group)
    assert CatalogueObject.objects.count() == 0
    row = CatalogueSync.objects.get(source="celestrak")
    assert row.last_status.startswith("failed") and row.last_success_at is None


def test_unreachable_source_is_a_sync_error(settings):
    settings.ORBITS_CELESTRAK_GP_URL = "http://127.0.0.1:9/gp.php"
    with pytest.raises(CatalogueSyncError, match="127.0.0.1:9"):
        catalogue_sync.sync_celestrak(group="active")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/gp.php",
        "http://10.0.0.8/gp.php",
        "http://169.254.169.254/gp.php",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_sources_go_through_the_ssrf_guard(settings, url):
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # tests allow loopback for their fixture servers
    settings.ORBITS_CELESTRAK_GP_URL = url
    with pytest.raises(CatalogueSyncError, match="resolves to a") as refused:
        catalogue_sync.sync_celestrak(group="active")
    assert refused.value.field == "source"
    assert CatalogueObject.objects.count() == 0


def test_spacetrack_login_gp_and_history(fixture_server, org_a, make_spacecraft):
    spacecraft = make_spacecraft(org_a, "SC-HIST", norad_id=90001)
    results = catalogue_sync.sync_spacetrack(history_for=org_a)
    assert [r.status for r in results] == ["stored", "stored"]
    assert CatalogueObject.objects.count() == 5
    assert TLE.objects.filter(spacecraft=spacecraft).count() == 3  # the element-set history
    paths = [(m, p) for m, p, _ in fixture_server]
    assert paths[0] == ("POST", "/ajaxauth/login")
    assert any(p.startswith("/basicspacedata/query/class/gp/") for _, p in paths)
    assert any("/class/gp_history/NORAD_CAT_ID/90001/" in p for _, p in paths)
    # Within 2 h: Space-Track is not asked again.
    assert [r.status for r in catalogue_sync.sync_spacetrack(history_for=org_a)] == ["skipped", "skipped"]


def test_spacetrack_refused_login(fixture_server, settings):
    settings.ORBITS_SPACETRACK_PASSWORD = "wrong"
    with pytest.raises(CatalogueSyncError, match="login refused"):
        catalogue_sync.sync_spacetrack()
    assert CatalogueObject.objects.count() == 0


class Terminal(io.StringIO):
    """stderr as a terminal: commands draw their progress bar only there."""

    def isatty(self):
        return True


def test_sync_catalogue_command_shows_progress(fixture_server, org_a, make_spacecraft):
    out, err = io.StringIO(), Terminal()
    call_command(
        "sync_catalogue", "--source", "celestrak", "--group", "active", "--group", "stations", "--format", "xml",
        stdout=out, stderr=err,
    )  # fmt: skip
    assert "stored, 5 objects" in out.getvalue() and "catalogue: 0 -> 5 objects" in out.getvalue()
    bar = err.getvalue()
    assert "catalogue" in bar and "1/2" in bar and "2/2" in bar, bar  # one step per query
    # The configured sources: a CelesTrak group, Space-Track's gp and the history of each object flown.
    make_spacecraft(org_a, "SC-HIST", norad_id=90001)
    out, err = io.StringIO(), Terminal()
    call_command("sync_catalogue", stdout=out, stderr=err)
    assert "3/3" in err.getvalue() and "gp_history NORAD_CAT_ID=90001: stored, 3 objects" in out.getvalue()
    with pytest.raises(CommandError, match="record 2"):
        call_command("sync_catalogue", "--source", "celestrak", "--group", "broken", stdout=out, stderr=err)
    with pytest.raises(CommandError, match="--group"):
        call_command("sync_catalogue", "--source", "celestrak", stdout=out, stderr=err)


def test_sync_catalogue_command_imports_gp_history(fixture_server, org_a, org_b, make_spacecraft):
    ours = make_spacecraft(org_a, "SC-HIST", norad_id=90001)
    theirs = make_spacecraft(org_b, "SC-HIST-B", norad_id=90001)
    out = io.StringIO()
    call_command("sync_catalogue", "--history", "90001", "--since", "2024-03-01", stdout=out, stderr=io.StringIO())
    assert "gp_history NORAD_CAT_ID=90001: stored, 6 objects" in out.getvalue(), out.getvalue()
    assert TLE.objects.filter(spacecraft=ours).count() == TLE.objects.filter(spacecraft=theirs).count() == 3
    assert CatalogueObject.objects.count() == 0  # the history only, not the gp class
    (path,) = [p for m, p, _ in fixture_server if "gp_history" in p]
    assert "/NORAD_CAT_ID/90001/EPOCH/%3E2024-03-01%2000:00:00/" in path
    with pytest.raises(CommandError, match="NORAD id 12345"):
        call_command("sync_catalogue", "--history", "12345", stdout=out, stderr=io.StringIO())
    with pytest.raises(CommandError, match="--since"):
        call_command("sync_catalogue", "--history", "90001", "--since", "soon", stdout=out, stderr=io.StringIO())


@pytest.mark.parametrize(
    "bad,match",
    [
        ("gp", "record 4.*MEAN_MOTION"),
        ("history", "record 3.*ECCENTRICITY.*nothing stored"),
        ("history-other", "NORAD id 90003.*nothing stored"),
    ],
)
def test_bad_spacetrack_payloads_are_refused_whole(fixture_server, org_a, make_spacecraft, bad, match):
    spacecraft = make_spacecraft(org_a, "SC-HIST", norad_id=90001)
    make_spacecraft(org_a, "SC-OTHER", norad_id=90003)
    FixtureServer.bad_spacetrack = bad
    with pytest.raises(CatalogueFormatError, match=match):
        if bad == "gp":
            catalogue_sync.sync_spacetrack()
        else:
            catalogue_sync.sync_spacetrack_history(norad_id=90001)
    assert CatalogueObject.objects.count() == 0
    assert not TLE.objects.filter(spacecraft=spacecraft).exists()  # not the two good sets either
    row = CatalogueSync.objects.get(source="spacetrack")
    assert row.last_status.startswith("failed") and row.last_success_at is None


def test_spacetrack_request_cap_is_shared_by_every_client(fixture_server, settings):
    """Two clients (two workers) count against one log: the minute's limit waits, the hour's refuses."""
    settings.ORBITS_SPACETRACK_REQUESTS_PER_MINUTE = 3
    settings.ORBITS_SPACETRACK_REQUESTS_PER_HOUR = 5
    clock = [1_800_000_000.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    def client():
        return catalogue_sync.SpaceTrack(clock=lambda: clock[0], sleep=sleep)

    first, second = client(), client()
    first.login()
    first.gp()
    first.gp_history(90001)
    assert slept == [] and len(fixture_server) == 3
    clock[0] += 1
    second.login()  # the minute's 3 requests are spent: it waits for the oldest to age out
    assert slept == [pytest.approx(59)] and len(fixture_server) == 4
    second.gp()
    with pytest.raises(CatalogueRateLimitError, match="5 requests an hour"):
        second.gp_history(90001)
    assert len(fixture_server) == 5  # the refused request was never sent


def test_sync_period_is_a_little_longer_than_the_minimum_interval(settings):
    """A beat arriving a little early must not find the last sync's interval unfinished."""
    import importlib

    created = importlib.import_module("orbits.migrations.0006_catalogue_periodic_tasks").SCHEDULES
    moved = importlib.import_module("orbits.migrations.0007_catalogue_sync_period")
    assert ("orbits: sync catalogue", "orbits.sync_catalogue", moved.OLD_S) in created
    minimum_s = settings.ORBITS_CATALOGUE_MIN_INTERVAL_S
    assert minimum_s < moved.NEW_S <= 1.1 * minimum_s


@pytest.fixture
def eager_celery():
    """Tasks run in the calling process, so what a task enqueues happens before it returns."""
    from missionops.celery import app

    previous = app.conf.get("task_always_eager", False)
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_sync_task_screens_after_new_objects(fixture_server, settings, eager_celery, org_a, make_spacecraft):
    from missionops.models import Event
    from orbits import tasks

    settings.ORBITS_SPACETRACK_IDENTITY = ""
    make_spacecraft(org_a, "SC-1", norad_id=99999)
    screened = Event.objects.filter(kind="conjunctions.screened", organization=org_a)
    assert not screened.exists()
    assert tasks.sync_catalogue() == 5
    assert screened.count() == 1
    assert screened.get().payload["catalogue"] == 5  # screened against what the sync stored
    assert tasks.sync_catalogue() == 0  # asked again within the interval: nothing new, no screening
    assert screened.count() == 1
