from io import StringIO

from django.core.management import call_command

from missionops.models import Event, Membership, Organization
from spacecraft.models import ConfigVersion, Spacecraft


def run(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_dry_run_writes_nothing(db):
    output = run("--dry-run")
    assert "would create spacecraft SC-001 (LEO_IMAGING)" in output
    assert not Organization.objects.exists() and not Spacecraft.objects.exists() and not Event.objects.exists()


def test_seed_is_idempotent_and_builds_the_four_profiles(db):
    run()
    counts = Spacecraft.objects.count(), ConfigVersion.objects.count(), Membership.objects.count()
    second = run()
    assert "create " not in second and "update " not in second  # telemetry history may top up to now
    assert (Spacecraft.objects.count(), ConfigVersion.objects.count(), Membership.objects.count()) == counts
    fleet = {sc.designation: sc for sc in Spacecraft.objects.all()}
    assert {sc.mission_type for sc in fleet.values()} == {"LEO_IMAGING", "GNSS", "GEO_COMMS", "CUBESAT"}
    leo = fleet["SC-001"].current_config.parameters
    assert set(leo) == {
        "battery_soc",
        "battery_temp",
        "bus_voltage",
        "solar_array_current",
        "panel_temp",
        "payload_temp",
        "attitude_error_deg",
        "rw1_speed_rpm",
        "rw2_speed_rpm",
        "images_captured",
        "imaging_mode",
    }
    assert leo["bus_voltage"]["crit_low"] < leo["bus_voltage"]["warn_low"] < leo["bus_voltage"]["warn_high"]
    assert set(fleet["SC-004"].current_config.parameters) >= {"magnetorquer_current_ma", "beacon_snr_db", "mode"}
    assert Membership.objects.get(user__username="viewer").role == "viewer"


def test_fleet_size_seeds_forty_spacecraft_with_element_sets(db):
    from orbits.models import TLE

    run("--fleet-size", "40", "--minutes", "0")
    assert Spacecraft.objects.count() == 40
    assert Spacecraft.objects.filter(tles__isnull=False).distinct().count() == 40
    assert TLE.objects.filter(spacecraft__designation="SC-040").exists()
    second = run("--fleet-size", "40", "--minutes", "0")
    assert "create " not in second and "import " not in second


def test_fleet_size_out_of_range_is_refused(db):
    import pytest
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--fleet-size"):
        run("--fleet-size", "0")
    assert not Spacecraft.objects.exists()
