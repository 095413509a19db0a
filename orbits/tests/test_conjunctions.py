"""Conjunction screening against a brute-force fine-step oracle, and its storage, events,
alarm, API, page and command."""

import io
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import F

from missionops.models import Event
from orbits import conjunctions
from orbits import propagation as prop
from orbits.exceptions import CatalogueFormatError
from orbits.models import CatalogueObject, Conjunction
from orbits.services import screening

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def element_set(norad, incl, raan, ecc, argp, m, n_rev, bstar=1e-5) -> tuple[str, str]:
    from sgp4.api import WGS72, Satrec
    from sgp4.exporter import export_tle

    epoch = (EPOCH.replace(tzinfo=None) - datetime(1949, 12, 31)).total_seconds() / 86400
    sat = Satrec()
    sat.sgp4init(
        WGS72, "i", norad, epoch, bstar, 0.0, 0.0, ecc, math.radians(argp), math.radians(incl),
        math.radians(m), n_rev / 720 * math.pi, math.radians(raan),
    )  # fmt: skip
    sat.classification, sat.intldesg, sat.elnum, sat.revnum = "U", "26001A", 999, 1
    return export_tle(sat)


PRIMARY = element_set(1, 97.5, 40.0, 0.001, 90.0, 270.0, 15.2)


def catalogue(n_near: int = 30, n_far: int = 40, seed: int = 3) -> list[tuple[str, str]]:
    """Objects in nearly the primary's orbit (they cross it near the poles every revolution,
    some within a few km) and others anywhere, GEO included."""
    rng = np.random.default_rng(seed)
    near = [
        element_set(
            100 + k,
            97.5 + rng.uniform(-3, 3),
            40.0 + rng.uniform(-2, 2),
            0.001 + rng.uniform(0, 0.002),
            90 + rng.uniform(-5, 5),
            270 + rng.uniform(-3, 3),
            15.2 + rng.uniform(-0.01, 0.01),
        )  # fmt: skip
        for k in range(n_near)
    ]
    far = [
        element_set(
            1000 + k,
            rng.uniform(0, 140),
            rng.uniform(0, 360),
            rng.uniform(0, 0.01),
            rng.uniform(0, 360),
            rng.uniform(0, 360),
            rng.uniform(14.0, 15.8),
        )  # fmt: skip
        for k in range(n_far)
    ]
    return near + far + [element_set(5000, 0.05, 10, 0.0002, 0, 100, 1.0027, 0.0)]


def brute_force(primary, secondaries, start, seconds, threshold_km):
    """Every local minimum of the distance under the threshold on a 1 s grid, each refined on
    a 0.5 ms grid around it: (secondary index, TCA s, miss km)."""
    t = np.arange(0, seconds + 1, 1.0)
    jd0, fr0 = (float(a[0]) for a in prop.julian([start]))
    p = prop.satrec_from_lines(*primary)
    _, rp, _ = p.sgp4_array(np.full(len(t), jd0), fr0 + t / 86400)
    found = []
    for j, lines in enumerate(secondaries):
        s = prop.satrec_from_lines(*lines)
        _, rs, _ = s.sgp4_array(np.full(len(t), jd0), fr0 + t / 86400)
        d = np.linalg.norm(rs - rp, axis=1)
        for m in np.flatnonzero((d[1:-1] <= d[:-2]) & (d[1:-1] <= d[2:]) & (d[1:-1] < threshold_km + 5)) + 1:
            fine = np.arange(t[m] - 1, t[m] + 1, 0.0005)
            _, a, _ = p.sgp4_array(np.full(len(fine), jd0), fr0 + fine / 86400)
            _, b, _ = s.sgp4_array(np.full(len(fine), jd0), fr0 + fine / 86400)
            dd = np.linalg.norm(b - a, axis=1)
            k = int(np.argmin(dd))
            if dd[k] < threshold_km:
                found.append((j, fine[k], dd[k]))
    return found


def test_screening_finds_every_approach_the_brute_force_finds():
    secondaries = catalogue()
    seconds = 12 * 3600
    found = conjunctions.screen([PRIMARY], secondaries, EPOCH, EPOCH + timedelta(seconds=seconds), threshold_km=5.0)
    oracle = brute_force(PRIMARY, secondaries, EPOCH, seconds, 5.0)
    assert len(oracle) >= 5
    for j, tca, miss in oracle:
        match = [a for a in found if a.secondary == j and abs((a.tca - EPOCH).total_seconds() - tca) < 1]
        assert match, (j, tca, miss)
        assert abs((match[0].tca - EPOCH).total_seconds() - tca) < 0.1
        assert abs(match[0].miss_distance_km - miss) < 0.010
    assert len(found) == len(oracle)  # and nothing the oracle does not find
    for a in found:
        components = math.sqrt(a.radial_km**2 + a.in_track_km**2 + a.cross_track_km**2)
        assert components == pytest.approx(a.miss_distance_km, rel=1e-9)
        assert 0 < a.relative_speed_km_s < 16


def test_shell_filter_drops_pairs_that_cannot_meet():
    sats = [prop.satrec_from_lines(*x) for x in (PRIMARY, *catalogue(2, 0))]
    pairs = conjunctions.shell_filter(sats[:1], sats[1:], 5.0)
    assert pairs[0, 0] and pairs[0, 1] and not pairs[0, 2]  # the GEO object is out


@pytest.fixture
def screened(make_spacecraft, org_a):
    from orbits.services import import_tles

    spacecraft = make_spacecraft(org_a, "SC-PRIMARY", norad_id=1)
    import_tles(organization=org_a, text="PRIMARY\n" + "\n".join(PRIMARY) + "\n")
    text = "".join(f"OBJ {i}\n{a}\n{b}\n" for i, (a, b) in enumerate(catalogue()))
    assert screening.import_catalogue(text=text, source="test") == 71
    rows = screening.screen_conjunctions(
        organization=org_a, start=EPOCH, days=0.5, threshold_km=5.0, critical_km=4.0, processes=1
    )
    return spacecraft, rows


@pytest.mark.django_db
def test_screening_stores_approaches_with_events_and_one_alarm(screened, org_a):
    from anomalies.models import Anomaly

    spacecraft, rows = screened
    assert rows and Conjunction.objects.filter(spacecraft=spacecraft).count() == len(rows)
    critical = [r for r in rows if r.critical]
    assert critical and all(r.miss_distance_km < 4.0 for r in critical)
    assert Event.objects.filter(kind="conjunction.critical").count() == len(critical)
    alarm = Anomaly.objects.get(spacecraft=spacecraft, parameter_name="conjunction_miss_km")
    assert alarm.severity == "critical" and alarm.peak_value == pytest.approx(min(r.miss_distance_km for r in rows))
    assert [(d["kind"], d["severity"]) for d in alarm.detectors] == [("limit", "critical")]  # one alarm, its record
    again = screening.screen_conjunctions(
        organization=org_a, start=EPOCH, days=0.5, threshold_km=5.0, critical_km=4.0, processes=1
    )
    assert len(again) == len(rows) == Conjunction.objects.count()  # replaced, not doubled
    assert Anomaly.objects.filter(spacecraft=spacecraft, parameter_name="conjunction_miss_km").count() == 1
    assert len(Anomaly.objects.get(spacecraft=spacecraft, parameter_name="conjunction_miss_km").detectors) == 1


@pytest.mark.django_db
def test_bad_catalogue_payload_stores_nothing():
    good = "".join(f"OBJ {i}\n{a}\n{b}\n" for i, (a, b) in enumerate(catalogue(3, 0)))
    broken = good + "BROKEN\n" + PRIMARY[0] + "\n" + PRIMARY[1][:-1] + "0\n"
    with pytest.raises(CatalogueFormatError, match="refused"):
        screening.import_catalogue(text=broken, source="test")
    assert CatalogueObject.objects.count() == 0
    with pytest.raises(CatalogueFormatError):
        screening.import_catalogue(text="", source="test")


@pytest.mark.django_db
def test_conjunctions_api_page_and_scoping(api, client, viewer, stranger, screened):
    spacecraft, rows = screened
    listed = api(viewer).get("/api/v1/conjunctions/", {"limit": 500})
    assert listed.status_code == 200 and len(listed.data["results"]) == len(rows)
    first = listed.data["results"][0]
    assert {"tca", "miss_distance_km", "radial_km", "in_track_km", "cross_track_km", "relative_speed_km_s"} <= set(
        first
    )
    critical = api(viewer).get("/api/v1/conjunctions/", {"critical": "true", "limit": 500}).data["results"]
    assert critical and all(c["critical"] for c in critical)
    assert api(stranger).get("/api/v1/conjunctions/").data["results"] == []
    assert api(stranger).get(f"/api/v1/conjunctions/{first['id']}/").status_code == 404
    assert api(viewer).get("/api/v1/conjunctions/", {"start": "not a time"}).status_code == 400
    client.force_login(viewer)
    shift = datetime.now(UTC) - EPOCH + timedelta(days=1)  # the page shows what is to come
    Conjunction.objects.update(tca=F("tca") + shift)
    page = client.get("/orbits/conjunctions/")
    assert page.status_code == 200 and b"SC-PRIMARY" in page.content and b"critical" in page.content


@pytest.mark.django_db
def test_screen_conjunctions_command(screened, org_a):
    out = io.StringIO()
    call_command("screen_conjunctions", "--days", "0.5", stdout=out, stderr=io.StringIO())
    assert "close approaches stored" in out.getvalue()
