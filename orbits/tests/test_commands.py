import io

import pytest
from django.core.management import CommandError, call_command

from orbits.models import TLE, GroundStation, Pass
from spacecraft.models import Spacecraft

from .conftest import DATA

pytestmark = pytest.mark.django_db


def test_import_tles_file_create_missing_and_refusals(org_a, tmp_path):
    path = tmp_path / "fleet.tle"
    text = (DATA / "mixed.tle").read_text().replace("10003\n", "10004\n")  # break LEO POLAR's checksum
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_tles", str(path), "--create-missing", stdout=out, stderr=err)
    assert "4 imported, 0 unchanged, 1 refused" in out.getvalue()
    assert "line 3, column 69" in err.getvalue()
    assert Spacecraft.objects.filter(organization=org_a, norad_id__in=[90002, 90003, 90004, 90005]).count() == 4
    with pytest.raises(CommandError):
        call_command("import_tles", str(tmp_path / "missing.tle"))


def test_compute_passes_and_demo_seed_are_idempotent(owner, org_a, make_spacecraft):
    from orbits import demo

    for norad in (39634, 41859, 40874, 43880):
        make_spacecraft(org_a, norad_id=norad)
    changes = []
    demo.seed(organization=org_a, actor=owner, log=changes.append, options={}, stderr=io.StringIO())
    assert GroundStation.objects.filter(organization=org_a).count() == 5
    assert TLE.objects.count() == 4 and Pass.objects.exists()
    again = []
    demo.seed(organization=org_a, actor=owner, log=again.append, options={}, stderr=io.StringIO())
    assert len(changes) == 9 and again == []
    out, err = io.StringIO(), io.StringIO()
    call_command("compute_passes", "--hours", "24", stdout=out, stderr=err)
    assert "passes over the next 24 h" in out.getvalue()
    assert Pass.objects.filter(organization=org_a).exists()


def test_compute_passes_for_a_chosen_window_prints_and_stores_nothing(org_a, make_spacecraft, station_a):
    from orbits.services import import_tles

    make_spacecraft(org_a, "SC-DECAY", norad_id=90005)
    import_tles(organization=org_a, text=(DATA / "mixed.tle").read_text())
    stored = Pass.objects.count()
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "compute_passes", "--start", "2024-03-27T00:00:00Z", "--end", "2024-04-03T00:00:00Z", stdout=out, stderr=err
    )
    text = out.getvalue()
    assert "SC-DECAY over Wallops" in text and "SGP4 stopped (decayed)" in text and "sgp4" not in err.getvalue()
    assert "element set" in text and "passes from 2024-03-27T00:00:00+00:00" in text
    assert Pass.objects.count() == stored
    with pytest.raises(CommandError, match="--end"):
        call_command("compute_passes", "--start", "2024-03-27T00:00:00Z", "--end", "2024-03-28T00:00:00")
    with pytest.raises(CommandError, match="at most 31 days"):
        call_command("compute_passes", "--start", "2024-03-01T00:00:00Z", "--end", "2024-04-03T00:00:00Z")
