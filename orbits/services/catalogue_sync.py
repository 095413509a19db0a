"""Catalogue sync: CelesTrak's GP API and Space-Track, into the catalogue (writes).

CelesTrak (`ORBITS_CELESTRAK_GP_URL`): `?GROUP=<group>` or `?CATNR=<id>` with `FORMAT=json`
(OMM JSON), `xml` (OMM XML) or `tle`. Its published rule is to ask for a group at most once
per 2 hours (data change no faster); we also send `If-None-Match` / `If-Modified-Since` with
the validators of the last answer, and a 304 stores nothing.

Space-Track (`ORBITS_SPACETRACK_URL`): a session from `POST /ajaxauth/login` (identity and
password settings), then the `gp` class (the newest set of every object on orbit) and
`gp_history` (past sets of one object since a date, imported into the element-set history of
every organization flying it). Its published limits are 30 requests a minute and 300 an hour:
every request (the login too) first claims a slot in one log of the last hour's requests kept
in Redis and shared by every worker and command (`ORBITS_SPACETRACK_REQUESTS_PER_MINUTE`,
`_PER_HOUR`), waiting for the minute's slot to free and refusing (CatalogueRateLimitError)
when the hour's is spent; every query also keeps the minimum interval.

A payload is stored all or nothing, whatever the source: one bad element set (or, in a
`gp_history` answer, a set of another object or one an organization cannot take) refuses the
whole payload with an error naming it, and nothing of it is kept.

Each query's state (last attempt, validators, outcome) is a `CatalogueSync` row, locked while
the query runs so that two workers never ask twice. Outbound HTTP goes through `http_request`,
which uses the platform's SSRF-guarded client (`missionops.outbound`).
"""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from missionops import outbound
from missionops.cache_redis import cache_redis
from missionops.models import Organization
from spacecraft.models import Spacecraft

from .. import tle_format
from ..exceptions import CatalogueFormatError, CatalogueRateLimitError, CatalogueSyncError
from ..models import CatalogueSync
from . import screening
from .elements import import_tles

FORMATS = {"json": "json", "xml": "xml", "tle": "3le"}
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
SPACETRACK_MAX_WAIT_S = 65.0  # longer than a minute's slot can take to free; an hour's is refused
DEFAULTS = {
    "ORBITS_CELESTRAK_GP_URL": "https://celestrak.org/NORAD/elements/gp.php",
    "ORBITS_CELESTRAK_GROUPS": ["active"],
    "ORBITS_SPACETRACK_URL": "https://www.space-track.org",
    "ORBITS_SPACETRACK_IDENTITY": "",
    "ORBITS_SPACETRACK_PASSWORD": "",
    "ORBITS_CATALOGUE_MIN_INTERVAL_S": 7200.0,
    "ORBITS_SPACETRACK_REQUESTS_PER_MINUTE": 30,
    "ORBITS_SPACETRACK_REQUESTS_PER_HOUR": 300,
    "ORBITS_CATALOGUE_TIMEOUT_S": 60.0,
}


def _setting(name: str):
    return getattr(settings, name, DEFAULTS[name])


def http_request(*, method: str, url: str, cookies: dict | None = None, headers=None, data=None, timeout_s: float):
    """The one outbound HTTP call of the catalogue sync, through the platform's SSRF-guarded client
    (no loopback, private or metadata address unless allowed, no redirects). Returns (status,
    headers with lower-case names, body bytes); `cookies` is kept up to date from Set-Cookie.
    Raises CatalogueSyncError when nothing usable came back."""
    headers = dict(headers or {})
    body = None
    if data is not None:
        body = urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    try:
        answer = outbound.request(
            method, url, body=body, headers=headers, timeout_s=timeout_s, max_body_bytes=MAX_PAYLOAD_BYTES + 1
        )
    except outbound.OutboundRefused as exc:
        raise CatalogueSyncError(f"{url}: {exc.message}", field="source") from None
    except outbound.OutboundError as exc:
        raise CatalogueSyncError(f"{url}: {exc}") from None
    if len(answer.body) > MAX_PAYLOAD_BYTES:
        raise CatalogueSyncError(f"{url}: answer larger than {MAX_PAYLOAD_BYTES} bytes")
    if cookies is not None and "set-cookie" in answer.headers:
        name, _, rest = answer.headers["set-cookie"].partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0].strip()
    return answer.status, answer.headers, answer.body


@dataclass
class SyncResult:
    source: str
    query: str
    status: str  # stored | not-modified | skipped | failed
    stored: int = 0
    detail: str = ""


def _claim(source: str, query: str, *, now) -> CatalogueSync | None:
    """The query's row, locked, or None when it was attempted less than the minimum interval
    ago (the source's rate limit)."""
    row, _ = CatalogueSync.objects.get_or_create(source=source, query=query)
    row = CatalogueSync.objects.select_for_update().get(pk=row.pk)
    interval = timedelta(seconds=float(_setting("ORBITS_CATALOGUE_MIN_INTERVAL_S")))
    if row.last_attempt_at and now - row.last_attempt_at < interval:
        return None
    return row


def _finish(row: CatalogueSync, result: SyncResult, *, now) -> SyncResult:
    row.last_status = f"{result.status}: {result.detail}"[:300] if result.detail else result.status
    if result.status in ("stored", "not-modified"):
        row.last_success_at = now
        row.objects_stored = result.stored if result.status == "stored" else row.objects_stored
    row.save()
    return result


def _decode(body: bytes, url: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogueFormatError(f"{url}: the answer is not UTF-8 text", field="payload") from None


def sync_celestrak(*, group: str | None = None, catnr: int | None = None, fmt: str = "json", now=None) -> SyncResult:
    """One CelesTrak GP query into the catalogue (see the module). Bad payloads store nothing."""
    if (group is None) == (catnr is None):
        raise CatalogueSyncError("give a group or a catalogue number", field="group")
    if fmt not in FORMATS:
        raise CatalogueSyncError(f"format must be one of {', '.join(FORMATS)}", field="format")
    now = now or timezone.now()
    params = {"GROUP": group} if group is not None else {"CATNR": str(catnr)}
    params["FORMAT"] = FORMATS[fmt]
    query = urlencode(params)
    with transaction.atomic():
        row = _claim("celestrak", query, now=now)
        if row is None:
            return SyncResult("celestrak", query, "skipped", detail="asked less than the minimum interval ago")
        row.last_attempt_at = now
        row.save(update_fields=["last_attempt_at"])
    # The request runs outside the lock's transaction; a second worker meanwhile sees the new
    # last_attempt_at and skips.
    url = f"{_setting('ORBITS_CELESTRAK_GP_URL')}?{query}"
    headers = {}
    if row.etag:
        headers["If-None-Match"] = row.etag
    if row.last_modified:
        headers["If-Modified-Since"] = row.last_modified
    result = SyncResult("celestrak", query, "failed")
    try:
        status, answer_headers, body = http_request(
            method="GET", url=url, headers=headers, timeout_s=float(_setting("ORBITS_CATALOGUE_TIMEOUT_S"))
        )
        if status == 304:
            result.status = "not-modified"
        elif status != 200:
            raise CatalogueSyncError(f"{url}: HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
        else:
            text = _decode(body, url)
            if text.strip().lower().startswith("no gp data found"):
                raise CatalogueFormatError(f"{url}: {text.strip()[:200]}", field="payload")
            result.stored = screening.import_catalogue(text=text, source=f"celestrak {query}")
            result.status = "stored"
            row.etag = answer_headers.get("etag", "")[:200]
            row.last_modified = answer_headers.get("last-modified", "")[:100]
    except (CatalogueSyncError, CatalogueFormatError) as exc:
        result.detail = exc.message
        _finish(row, result, now=now)
        raise
    return _finish(row, result, now=now)


# One atomic step in Redis: forget requests older than an hour, then either log this one
# (answer 0) or answer how long until a slot frees, with 1 for the minute's limit, 2 the hour's.
_RESERVE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {2, tostring(tonumber(oldest[2]) + 3600 - now)}
end
local recent = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - 60), '+inf', 'WITHSCORES')
if #recent / 2 >= tonumber(ARGV[2]) then
  return {1, tostring(tonumber(recent[2]) + 60 - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], 3700)
return {0, '0'}
"""
SPACETRACK_REQUEST_LOG = "orbits:spacetrack:requests"


def reserve_spacetrack_request(*, now: float) -> tuple[int, float]:
    """Claim one Space-Track request at `now` (Unix seconds) in the log shared by every process:
    (0, 0.0) when claimed; else (1, seconds) when the minute's limit is reached, (2, seconds)
    when the hour's is, and nothing is claimed."""
    client = cache_redis()
    limit, wait = client.eval(
        _RESERVE,
        1,
        cache.make_and_validate_key(SPACETRACK_REQUEST_LOG),
        repr(float(now)),
        int(_setting("ORBITS_SPACETRACK_REQUESTS_PER_MINUTE")),
        int(_setting("ORBITS_SPACETRACK_REQUESTS_PER_HOUR")),
        f"{now!r}:{uuid.uuid4().hex}",
    )
    return int(limit), max(0.0, float(wait))


class SpaceTrack:
    """A logged-in Space-Track session; each request claims a slot of the shared request log first.

    `clock` and `sleep` are the wall clock (tests replace them)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        identity: str | None = None,
        password: str | None = None,
        clock=time.time,
        sleep=time.sleep,
    ):
        self.base_url = (base_url or _setting("ORBITS_SPACETRACK_URL")).rstrip("/")
        self.identity = identity if identity is not None else _setting("ORBITS_SPACETRACK_IDENTITY")
        self.password = password if password is not None else _setting("ORBITS_SPACETRACK_PASSWORD")
        self.cookies: dict[str, str] = {}  # the login session
        self.timeout_s = float(_setting("ORBITS_CATALOGUE_TIMEOUT_S"))
        self.clock, self.sleep = clock, sleep
        self.logged_in = False

    def _claim_slot(self) -> None:
        waited = 0.0
        while True:
            limit, wait = reserve_spacetrack_request(now=self.clock())
            if limit == 0:
                return
            if limit == 2 or waited + wait > SPACETRACK_MAX_WAIT_S:
                name, per = ("HOUR", "an hour") if limit == 2 else ("MINUTE", "a minute")
                count = int(_setting(f"ORBITS_SPACETRACK_REQUESTS_PER_{name}"))
                raise CatalogueRateLimitError(
                    f"Space-Track's limit of {count} requests {per} is reached (counted for every worker): "
                    f"the next one may go in {wait:.0f} s",
                    field="source",
                )
            wait = max(wait, 0.01)
            self.sleep(wait)
            waited += wait

    def _request(self, method, path, data=None):
        self._claim_slot()
        return http_request(
            method=method, url=self.base_url + path, cookies=self.cookies, data=data, timeout_s=self.timeout_s
        )

    def login(self) -> None:
        if self.logged_in:
            return
        if not self.identity or not self.password:
            raise CatalogueSyncError(
                "Space-Track needs ORBITS_SPACETRACK_IDENTITY and ORBITS_SPACETRACK_PASSWORD", field="source"
            )
        status, _, body = self._request(
            "POST", "/ajaxauth/login", data={"identity": self.identity, "password": self.password}
        )
        if status != 200 or b"Failed" in body[:200]:
            raise CatalogueSyncError(f"Space-Track login refused (HTTP {status})", field="source")
        self.logged_in = True

    def query(self, path: str) -> str:
        status, _, body = self._request("GET", path)
        if status == 401:
            raise CatalogueSyncError("Space-Track: not logged in (HTTP 401)", field="source")
        if status != 200:
            raise CatalogueSyncError(f"Space-Track {path}: HTTP {status}")
        return _decode(body, self.base_url + path)

    def gp(self) -> str:
        return self.query(
            "/basicspacedata/query/class/gp/decay_date/null-val/epoch/%3Enow-30/orderby/norad_cat_id/format/json"
        )

    def gp_history(self, norad_id: int, *, since: datetime | None = None, limit: int = 100) -> str:
        # Space-Track's date form, YYYY-MM-DD HH:MM:SS, after the `>` operator.
        epoch = f"/EPOCH/{quote('>' + since.strftime('%Y-%m-%d %H:%M:%S'), safe=':')}" if since else ""
        return self.query(
            f"/basicspacedata/query/class/gp_history/NORAD_CAT_ID/{int(norad_id)}{epoch}"
            f"/orderby/EPOCH%20desc/limit/{int(limit)}/format/json"
        )


def _begin(source: str, query: str, *, now) -> CatalogueSync | None:
    with transaction.atomic():
        row = _claim(source, query, now=now)
        if row is not None:
            row.last_attempt_at = now
            row.save(update_fields=["last_attempt_at"])
    return row


def _skipped(source: str, query: str) -> SyncResult:
    return SyncResult(source, query, "skipped", detail="asked less than the minimum interval ago")


def sync_spacetrack(*, client: SpaceTrack | None = None, history_for: Organization | None = None, now=None):
    """Sync Space-Track's `gp` class into the catalogue; returns SyncResults.

    With `history_for`, the `gp_history` of each of that organization's spacecraft goes into the
    element-set history (see sync_spacetrack_history)."""
    now = now or timezone.now()
    client = client or SpaceTrack()
    results = []
    row = _begin("spacetrack", "gp", now=now)
    if row is None:
        results.append(_skipped("spacetrack", "gp"))
    else:
        result = SyncResult("spacetrack", "gp", "failed")
        try:
            client.login()
            result.stored = screening.import_catalogue(text=client.gp(), source="spacetrack gp")
            result.status = "stored"
        except (CatalogueSyncError, CatalogueFormatError) as exc:
            result.detail = exc.message
            _finish(row, result, now=now)
            raise
        results.append(_finish(row, result, now=now))
    if history_for is not None:
        fleet = Spacecraft.objects.filter(organization=history_for, norad_id__isnull=False).order_by("norad_id")
        for norad_id in fleet.values_list("norad_id", flat=True).distinct():
            results.append(sync_spacetrack_history(norad_id=norad_id, client=client, now=now))
    return results


def history_since(norad_id: int) -> datetime | None:
    """The epoch from which a `gp_history` query of `norad_id` brings what some organization
    flying it lacks: the oldest of their newest stored epochs (None: one has no set at all)."""
    newest = (
        Spacecraft.objects.filter(norad_id=norad_id)
        .annotate(newest=Max("tles__epoch"))
        .values_list("newest", flat=True)
    )
    newest = list(newest)
    return None if not newest or None in newest else min(newest)


@transaction.atomic
def _import_history(*, norad_id: int, text: str, query: str) -> int:
    """Every set of `text` into each organization flying `norad_id`, all or nothing."""
    parsed = tle_format.parse(text)
    if parsed.refused:
        first = parsed.refused[0]
        raise CatalogueFormatError(
            f"Space-Track {query}: {len(parsed.refused)} element set(s) refused, the first at "
            f"{first.location}: {first.reason}; nothing stored",
            field="payload",
        )
    other = sorted({e.norad_id for e in parsed.element_sets} - {norad_id})
    if other:
        raise CatalogueFormatError(
            f"Space-Track {query}: the answer holds sets of NORAD id {other[0]}, not only {norad_id}; nothing stored",
            field="payload",
        )
    stored = 0
    organizations = Organization.objects.filter(spacecraft__norad_id=norad_id).distinct().order_by("pk")
    for organization in organizations:
        report = import_tles(organization=organization, text=text, source="spacetrack gp_history", all_or_nothing=True)
        stored += len(report.imported)
    return stored


def sync_spacetrack_history(
    *, norad_id: int, since: datetime | None = None, client: SpaceTrack | None = None, now=None
) -> SyncResult:
    """Space-Track's `gp_history` of one object (the sets since `since`, by default since the
    newest one stored: see history_since) into the element-set history of every organization
    flying it. All or nothing: a bad payload raises CatalogueFormatError and stores nothing."""
    now = now or timezone.now()
    client = client or SpaceTrack()
    since = since if since is not None else history_since(norad_id)
    query = f"gp_history NORAD_CAT_ID={int(norad_id)}"  # the rate limit is per object, whatever the date
    if not Spacecraft.objects.filter(norad_id=norad_id).exists():
        raise CatalogueSyncError(f"no spacecraft has NORAD id {norad_id}: register it first", field="history")
    row = _begin("spacetrack", query, now=now)
    if row is None:
        return _skipped("spacetrack", query)
    result = SyncResult("spacetrack", query, "failed")
    try:
        client.login()
        text = client.gp_history(norad_id, since=since)
        result.stored = 0 if text.strip() == "[]" else _import_history(norad_id=norad_id, text=text, query=query)
        result.status = "stored"
    except (CatalogueSyncError, CatalogueFormatError) as exc:
        result.detail = exc.message
        _finish(row, result, now=now)
        raise
    return _finish(row, result, now=now)


def planned_queries() -> list[tuple[str, str, object]]:
    """What sync_configured asks, in order: (source, kind, value)."""
    queries: list[tuple[str, str, object]] = [("celestrak", "group", g) for g in _setting("ORBITS_CELESTRAK_GROUPS")]
    if _setting("ORBITS_SPACETRACK_IDENTITY"):
        queries.append(("spacetrack", "gp", None))
        fleet = Spacecraft.objects.filter(norad_id__isnull=False).values_list("norad_id", flat=True)
        queries += [("spacetrack", "history", n) for n in sorted(set(fleet))]
    return queries


def sync_configured(*, progress=None, now=None) -> list[SyncResult]:
    """Sync every configured source: the CelesTrak groups, and when Space-Track credentials are
    set its `gp` class and the `gp_history` of every object an organization flies (since the
    newest set stored). `progress` is called after each query (planned_queries lists them).

    A failed query is recorded and the others still run; once Space-Track's hourly request
    limit is reached its remaining queries wait for the next sync."""
    results = []
    client = None
    rate_limited = False
    for source, kind, value in planned_queries():
        try:
            if source == "celestrak":
                results.append(sync_celestrak(group=value, now=now))
            elif rate_limited:
                results.append(SyncResult(source, f"{kind} {value or ''}".strip(), "skipped", detail="rate limit"))
            else:
                client = client or SpaceTrack()
                if kind == "gp":
                    results.extend(sync_spacetrack(client=client, now=now))
                else:
                    results.append(sync_spacetrack_history(norad_id=value, client=client, now=now))
        except CatalogueRateLimitError as exc:
            rate_limited = True
            results.append(SyncResult(source, f"{kind} {value or ''}".strip(), "failed", detail=exc.message))
        except (CatalogueSyncError, CatalogueFormatError) as exc:
            label = f"GROUP={value}" if source == "celestrak" else f"{kind} {value or ''}".strip()
            results.append(SyncResult(source, label, "failed", detail=exc.message))
        if progress:
            progress(results[-1])
    return results
