"""seed_demo hook: ground stations and TLEs for the demo fleet. Idempotent."""

from pathlib import Path

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
        organization=organization, text=DEMO_TLES.read_text(), source="seed_demo demo.tle", actor=actor
    )
    for item in report.imported:
        designation = Spacecraft.objects.get(pk=item["spacecraft"]).designation
        log(f"import TLE for {designation} (NORAD {item['norad_id']}, epoch {item['epoch']})")
    for item in report.refused:
        stderr.write(f"demo TLE refused: {item['location']}: {item['reason']}\n")
