"""The fleet overview: what the landing page shows per spacecraft, read in a fixed number of
queries however large the fleet (one per concern, never one per spacecraft)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q
from django.utils import timezone

from anomalies.models import AlarmState, Anomaly, Severity
from orbits.models import Pass
from spacecraft.models import Mode, Spacecraft
from spacecraft.selectors import spacecraft_visible_to
from telemetry.models import LatestValue, MinuteRollup, ParameterDefinition, ParameterType
from telemetry.selectors import stale_after_s

SPARK_MINUTES = 30
# Battery and memory come from the spacecraft's live state (what the mode rules act on), so the
# telemetry parameter of the same meaning is never drawn beside it as a second number.
STATE_PARAMETERS = {"battery_soc"}
SPARKS_PER_TILE = 2
ATTENTION_ORDER = {"critical": 0, "warning": 1, "ok": 2}


@dataclass
class Spark:
    parameter: str
    units: str
    points: list[tuple[dt.datetime, float]] = field(default_factory=list)
    low: float | None = None
    high: float | None = None

    @property
    def last(self) -> float | None:
        return self.points[-1][1] if self.points else None


@dataclass
class Tile:
    spacecraft: Spacecraft
    alarms: dict[str, int]
    in_contact: Pass | None
    next_pass: Pass | None
    last_contact: dt.datetime | None
    last_data_at: dt.datetime | None
    stale: bool
    sparks: list[Spark]

    @property
    def attention(self) -> str:
        """critical, warning or ok: the worst of mode, alarms and data freshness."""
        if self.spacecraft.mode == Mode.SURVIVAL or self.alarms.get(Severity.CRITICAL):
            return "critical"
        if self.spacecraft.mode == Mode.SAFE or self.alarms.get(Severity.WARNING) or self.stale:
            return "warning"
        return "ok"


def fleet_tiles(user, *, now: dt.datetime | None = None) -> list[Tile]:
    """One tile per spacecraft the user may view, the ones needing attention first."""
    now = now or timezone.now()
    fleet = list(spacecraft_visible_to(user).order_by("designation"))
    ids = [sc.pk for sc in fleet]
    alarms = _open_alarms(ids)
    current, last = _passes(ids, now)
    freshness = _freshness(ids, now)
    sparks = _sparks(ids, now)
    tiles = []
    for sc in fleet:
        upcoming = current.get(sc.pk)
        last_data_at, stale = freshness.get(sc.pk, (None, True))
        tiles.append(
            Tile(
                spacecraft=sc,
                alarms=alarms.get(sc.pk, {}),
                in_contact=upcoming if upcoming and upcoming.aos <= now else None,
                next_pass=upcoming if upcoming and upcoming.aos > now else None,
                last_contact=last.get(sc.pk),
                last_data_at=last_data_at,
                stale=stale,
                sparks=sparks.get(sc.pk, []),
            )
        )
    tiles.sort(key=lambda t: (ATTENTION_ORDER[t.attention], t.spacecraft.designation))
    return tiles


def fleet_counters(tiles: list[Tile]) -> dict:
    """The fleet-level line above the tiles."""
    counters = {
        "spacecraft": len(tiles),
        "by_mode": {mode: 0 for mode in (Mode.NOMINAL, Mode.STANDBY, Mode.SAFE, Mode.SURVIVAL)},
        "critical": 0,
        "warning": 0,
        "in_contact": 0,
        "stale": 0,
        "attention": 0,
    }
    for tile in tiles:
        counters["by_mode"][tile.spacecraft.mode] = counters["by_mode"].get(tile.spacecraft.mode, 0) + 1
        counters["critical"] += tile.alarms.get(Severity.CRITICAL, 0)
        counters["warning"] += tile.alarms.get(Severity.WARNING, 0)
        counters["in_contact"] += tile.in_contact is not None
        counters["stale"] += tile.stale
        counters["attention"] += tile.attention != "ok"
    return counters


def _open_alarms(ids) -> dict:
    """Unresolved, unshelved alarms per spacecraft and severity."""
    rows = (
        Anomaly.objects.filter(spacecraft_id__in=ids)
        .filter(Q(state=AlarmState.OPEN) | Q(state=AlarmState.ACKNOWLEDGED))
        .values("spacecraft_id", "severity")
        .annotate(n=Count("id"))
    )
    found: dict = {}
    for row in rows:
        found.setdefault(row["spacecraft_id"], {})[row["severity"]] = row["n"]
    return found


def _passes(ids, now) -> tuple[dict, dict]:
    """The pass in progress or else the next one, and the end of the last one, per spacecraft."""
    upcoming = (
        Pass.objects.filter(spacecraft_id__in=ids, los__gt=now)
        .select_related("station")
        .order_by("spacecraft_id", "aos")
        .distinct("spacecraft_id")
    )
    last = Pass.objects.filter(spacecraft_id__in=ids, los__lte=now).values("spacecraft_id").annotate(at=Max("los"))
    return {p.spacecraft_id: p for p in upcoming}, {row["spacecraft_id"]: row["at"] for row in last}


def _freshness(ids, now) -> dict:
    """(newest sample time, stale) per spacecraft: stale when even the newest sample is older than
    its parameter's stale limit, or there is none."""
    rows = (
        LatestValue.objects.filter(parameter__spacecraft_id__in=ids)
        .values("parameter__spacecraft_id")
        .annotate(at=Max("time"))
    )
    limit = {}
    for definition in ParameterDefinition.objects.filter(spacecraft_id__in=ids, latest__isnull=False).only(
        "spacecraft_id", "expected_interval_s"
    ):
        limit[definition.spacecraft_id] = max(limit.get(definition.spacecraft_id, 0.0), stale_after_s(definition))
    return {
        row["parameter__spacecraft_id"]: (
            row["at"],
            (now - row["at"]).total_seconds() > limit.get(row["parameter__spacecraft_id"], 0.0),
        )
        for row in rows
    }


def _key_parameters(ids) -> list[ParameterDefinition]:
    """Per spacecraft the first numeric parameters with limits, power before thermal before the rest."""
    rank = {"power": 0, "thermal": 1}
    definitions = (
        ParameterDefinition.objects.filter(spacecraft_id__in=ids, type=ParameterType.FLOAT, declared=True)
        .exclude(name__in=STATE_PARAMETERS)
        .filter(Q(warn_low__isnull=False) | Q(warn_high__isnull=False))
    )
    chosen: dict = {}
    for definition in sorted(definitions, key=lambda d: (rank.get(d.subsystem, 2), d.name)):
        picked = chosen.setdefault(definition.spacecraft_id, [])
        if len(picked) < SPARKS_PER_TILE:
            picked.append(definition)
    return [d for picked in chosen.values() for d in picked]


def _sparks(ids, now) -> dict:
    """The last SPARK_MINUTES minute averages of each tile's key parameters, from the minute roll-ups."""
    definitions = _key_parameters(ids)
    by_id = {d.pk: Spark(parameter=d.name, units=d.units, low=d.warn_low, high=d.warn_high) for d in definitions}
    since = now - dt.timedelta(minutes=SPARK_MINUTES)
    rows = (
        MinuteRollup.objects.filter(parameter_id__in=list(by_id), bucket__gte=since)
        .order_by("parameter_id", "bucket")
        .values_list("parameter_id", "bucket", "avg")
    )
    for parameter_id, bucket, avg in rows:
        by_id[parameter_id].points.append((bucket, avg))
    found: dict = {}
    for definition in definitions:
        found.setdefault(definition.spacecraft_id, []).append(by_id[definition.pk])
    return found
