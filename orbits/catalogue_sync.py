"""Catalogue sync: CelesTrak's GP API and Space-Track, into the catalogue (writes).

CelesTrak (`ORBITS_CELESTRAK_GP_URL`): `?GROUP=<group>` or `?CATNR=<id>` with `FORMAT=json`
(OMM JSON), `xml` (OMM XML) or `tle`. Its published rule is to ask for a group at most once
per 2 hours (data change no faster); we also send `If-None-Match` / `If-Modified-Since` with
the validators of the last answer, and a 304 stores nothing.

Space-Track (`ORBITS_SPACETRACK_URL`): a session from `POST /ajaxauth/login` (identity and
password settings), then the `gp` class (the newest set of every object on orbit) and
`gp_history` (past sets of one object, imported into the organizations' element-set history).
Its published limits are 30 requests a minute and 300 an hour, and `gp` at most once an hour:
requests are spaced `SPACETRACK_SPACING_S` apart, and every query keeps the 2-hour minimum.

Each query's state (last attempt, validators, outcome) is a `CatalogueSync` row, locked while
the query runs so that two workers never ask twice. Outbound HTTP goes through `http_request`,
which uses the platform's SSRF-guarded client (`missionops.outbound`).
"""

import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from missionops import outbound
from missionops.models import Organization
from spacecraft.models import Spacecraft

from . import screening, services
from .exceptions import CatalogueFormatError, CatalogueSyncError
from .models import CatalogueSync

FORMATS = {"json": "json", "xml": "xml", "tle": "3le"}
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
SPACETRACK_SPACING_S = 2.0  # 30 requests a minute
DEFAULTS = {
    "ORBITS_CELESTRAK_GP_URL": "https://celestrak.org/NORAD/elements/gp.php",
    "ORBITS_CELESTRAK_GROUPS": ["active"],
    "ORBITS_SPACETRACK_URL": "https://www.space-track.org",
    "ORBITS_SPACETRACK_IDENTITY": "",
    "ORBITS_SPACETRACK_PASSWORD": "",
    "ORBITS_CATALOGUE_MIN_INTERVAL_S": 7200.0,
    "ORBITS_CATALOGUE_TIMEOUT_S": 60.0,
}


def _setting(name: str):
    return getattr(settings, name, DEFAULTS[name])


def http_request(method: str, url: str, *, cookies: dict | None = None, headers=None, data=None, timeout_s: float):
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
            "GET", url, headers=headers, timeout_s=float(_setting("ORBITS_CATALOGUE_TIMEOUT_S"))
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


class SpaceTrack:
    """A logged-in Space-Track session; requests spaced SPACETRACK_SPACING_S apart."""

    def __init__(self, *, base_url: str | None = None, identity: str | None = None, password: str | None = None):
        self.base_url = (base_url or _setting("ORBITS_SPACETRACK_URL")).rstrip("/")
        self.identity = identity if identity is not None else _setting("ORBITS_SPACETRACK_IDENTITY")
        self.password = password if password is not None else _setting("ORBITS_SPACETRACK_PASSWORD")
        self.cookies: dict[str, str] = {}  # the login session
        self.last_request = 0.0
        self.timeout_s = float(_setting("ORBITS_CATALOGUE_TIMEOUT_S"))

    def _request(self, method, path, data=None):
        wait = self.last_request + SPACETRACK_SPACING_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_request = time.monotonic()
        return http_request(method, self.base_url + path, cookies=self.cookies, data=data, timeout_s=self.timeout_s)

    def login(self) -> None:
        if not self.identity or not self.password:
            raise CatalogueSyncError(
                "Space-Track needs ORBITS_SPACETRACK_IDENTITY and ORBITS_SPACETRACK_PASSWORD", field="source"
            )
        status, _, body = self._request(
            "POST", "/ajaxauth/login", data={"identity": self.identity, "password": self.password}
        )
        if status != 200 or b"Failed" in body[:200]:
            raise CatalogueSyncError(f"Space-Track login refused (HTTP {status})", field="source")

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

    def gp_history(self, norad_id: int, *, limit: int = 100) -> str:
        return self.query(
            f"/basicspacedata/query/class/gp_history/NORAD_CAT_ID/{int(norad_id)}/orderby/EPOCH%20desc/limit/{int(limit)}/format/json"
        )


def sync_spacetrack(*, client: SpaceTrack | None = None, history_for: Organization | None = None, now=None):
    """Sync Space-Track's `gp` class into the catalogue; returns SyncResults.

    With `history_for`, the `gp_history` of each of that organization's spacecraft goes into its
    element-set history."""
    now = now or timezone.now()
    client = client or SpaceTrack()
    results = []
    with transaction.atomic():
        row = _claim("spacetrack", "gp", now=now)
        if row is not None:
            row.last_attempt_at = now
            row.save(update_fields=["last_attempt_at"])
    if row is None:
        results.append(SyncResult("spacetrack", "gp", "skipped", detail="asked less than the minimum interval ago"))
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
        for spacecraft in fleet:
            query = f"gp_history NORAD_CAT_ID={spacecraft.norad_id} org={history_for.slug}"
            with transaction.atomic():
                row = _claim("spacetrack", query, now=now)
                if row is not None:
                    row.last_attempt_at = now
                    row.save(update_fields=["last_attempt_at"])
            if row is None:
                results.append(
                    SyncResult("spacetrack", query, "skipped", detail="asked less than the minimum interval ago")
                )
                continue
            text = client.gp_history(spacecraft.norad_id)
            report = services.import_tles(organization=history_for, text=text, source="spacetrack gp_history")
            results.append(
                _finish(row, SyncResult("spacetrack", query, "stored", stored=len(report.imported)), now=now)
            )
    return results


def sync_configured(*, progress=None, now=None) -> list[SyncResult]:
    """Sync every configured source: the CelesTrak groups, and Space-Track's `gp` when credentials are set.

    A failed query is recorded and the others still run."""
    results = []
    for group in _setting("ORBITS_CELESTRAK_GROUPS"):
        try:
            results.append(sync_celestrak(group=group, now=now))
        except (CatalogueSyncError, CatalogueFormatError) as exc:
            results.append(SyncResult("celestrak", f"GROUP={group}", "failed", detail=exc.message))
        if progress:
            progress(results[-1])
    if _setting("ORBITS_SPACETRACK_IDENTITY"):
        try:
            results.extend(sync_spacetrack(now=now))
        except (CatalogueSyncError, CatalogueFormatError) as exc:
            results.append(SyncResult("spacetrack", "gp", "failed", detail=exc.message))
        if progress:
            progress(results[-1])
    return results
