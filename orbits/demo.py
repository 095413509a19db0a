"""seed_demo hook: ground stations and TLEs for the demo fleet. Idempotent (on a given day)."""

from datetime import UTC, datetime
from pathlib import Path

from django.utils import timezone
from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle

from spacecraft.models import Spacecraft

from . import services
from .models import GroundStation

DEMO_TLES = Path(__file__).resolve().parent / "data" / "demo.tle"
# name, latitude, longitude, altitude m, minimum elevation, downlink bit/s
DEMO_STATIONS = [
    ("Svalbard", 78.2298, 15.4078, 458, 5.0, 150_000_000),
    ("Fairbanks", 64.8587, -147.8576, 300, 5.0, 100_000_000),
    ("Wallops", 37.9402, -75.4664, 10, 5.0, 50_000_000),
    ("Hartebeesthoek", -25.8872, 27.7075, 1555, 10.0, 50_000_000),
    ("Tokyo", 35.6895, 139.6917, 40, 10.0, 20_000_000),
]


def seed(*, organization, actor, log, options, stderr):
    """Seed the demo ground stations and element sets of `organization` (`seed_demo`)."""
    for name, lat, lon, alt, min_el, rate in DEMO_STATIONS:
        if not GroundStation.objects.filter(organization=organization, name=name).exists():
            services.create_station(
                organization=organization,
                actor=actor,
                name=name,
                latitude_deg=lat,
                longitude_deg=lon,
                altitude_m=alt,
                min_elevation_deg=min_el,
                downlink_rate_bps=rate,
            )
            log(f"create ground station {name}")
    report = services.import_tles(
        organization=organization, text=_demo_text(timezone.now()), source="seed_demo demo.tle", actor=actor
    )
    for item in report.imported:
        designation = Spacecraft.objects.get(pk=item["spacecraft"]).designation
        log(f"import TLE for {designation} (NORAD {item['norad_id']}, epoch {item['epoch']})")
    for item in report.refused:
        stderr.write(f"demo TLE refused: {item['location']}: {item['reason']}\n")
    seed_derived_tles(organization=organization, actor=actor, log=log)


def seed_derived_tles(*, organization, actor, log) -> None:
    """Seed element sets for the demo spacecraft past the four of demo.tle (`seed_demo --fleet-size N`).

    NORAD ids 90005 up: each a copy of its profile's set, spread along the orbit (mean anomaly and
    RAAN shifted) so their passes fall at different times."""
    from .tle_format import checksum

    lines = _demo_text(timezone.now()).splitlines()  # epochs of today, as the fleet's own sets
    base = {int(lines[i + 1][2:7]): (lines[i + 1], lines[i + 2]) for i in range(0, len(lines) - 2, 3)}
    profile_norad = {sc.mission_type: sc.norad_id for sc in Spacecraft.objects.filter(norad_id__in=base)}
    derived = []
    missing = Spacecraft.objects.filter(organization=organization, norad_id__gte=90000, tles__isnull=True)
    for sc in missing.order_by("designation"):
        if sc.mission_type not in profile_norad:
            continue
        line1, line2 = base[profile_norad[sc.mission_type]]
        shift = (sc.norad_id * 37) % 360
        raan = (float(line2[17:25]) + shift / 3) % 360
        anomaly = (float(line2[43:51]) + shift) % 360
        line1 = f"{line1[:2]}{sc.norad_id:05d}{line1[7:68]}"
        line2 = f"{line2[:2]}{sc.norad_id:05d}{line2[7:17]}{raan:8.4f}{line2[25:43]}{anomaly:8.4f}{line2[51:68]}"
        derived.append(f"{sc.name.upper()}\n{line1}{checksum(line1)}\n{line2}{checksum(line2)}")
    if derived:
        report = services.import_tles(
            organization=organization, text="\n".join(derived), source="seed_demo", actor=actor
        )
        log(f"import {len(report.imported)} derived TLEs for the extra demo spacecraft")


def _demo_text(now: datetime) -> str:
    """The demo fleet's element sets with their epoch moved to `now`'s day (00:00 UTC): they are
    made-up orbits, and a set months old would be refused by the element-set age limit."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    epoch = (day.replace(tzinfo=None) - datetime(1949, 12, 31)).total_seconds() / 86400
    lines = [line for line in DEMO_TLES.read_text().splitlines() if line.strip()]
    out = []
    for name, line1, line2 in zip(lines[0::3], lines[1::3], lines[2::3], strict=True):
        base = Satrec.twoline2rv(line1, line2, WGS72)
        sat = Satrec()
        sat.sgp4init(
            WGS72, "i", base.satnum, epoch, base.bstar, base.ndot, 0.0, base.ecco,
            base.argpo, base.inclo, base.mo, base.no_kozai, base.nodeo,
        )  # fmt: skip
        sat.classification, sat.intldesg, sat.elnum, sat.revnum = "U", line1[9:17].strip(), 999, base.revnum
        out += [name, *export_tle(sat)]
    return "\n".join(out) + "\n"
