import time
from datetime import timedelta

import numpy as np
import pytest
from astropy.io import fits
from django.utils import timezone

from missionops.models import Event
from telescopes import astro
from telescopes.exceptions import BelowHorizonError, TelescopeError
from telescopes.models import Exposure, Operation, OperationStatus
from telescopes.services.operations import advance_operation, request_operation, run_operation, sweep_operations

pytestmark = pytest.mark.django_db


def run(device, kind, **params):
    return run_operation(
        operation=request_operation(device=device, kind=kind, params=params, enqueue=False), poll_s=0.1
    )


def visible_radec(observatory, *, altitude=50.0, azimuth=180.0):
    """J2000 RA/Dec of a point at this Alt/Az now."""
    now = timezone.now()
    ra, dec = astro.radec_of_date(
        altitude, azimuth, latitude_deg=observatory.latitude_deg, longitude_deg=observatory.longitude_deg, when=now
    )
    return astro.convert_radec(ra, dec, from_jd=astro.julian_date(now), to_jd=astro.J2000_JD)


def test_connect_unpark_slew_radec_abort_park(devices, observatory):
    telescope = devices["telescope"]
    assert run(telescope, "connect").status == OperationStatus.SUCCEEDED
    unpark = run(telescope, "unpark")
    assert unpark.status == OperationStatus.SUCCEEDED, unpark.error

    ra, dec = visible_radec(observatory)
    slew = run(telescope, "slew_radec", ra_hours=ra, dec_deg=dec)
    assert slew.status == OperationStatus.SUCCEEDED, slew.error
    # The simulator reports J2000 as 'Other': coordinates of date; its reported pointing reaches them.
    assert slew.result["equatorial_system"] == "other"
    expected_ra, expected_dec = astro.convert_radec(
        ra, dec, from_jd=astro.J2000_JD, to_jd=astro.julian_date(timezone.now())
    )
    assert slew.result["pointing"]["ra_hours"] == pytest.approx(expected_ra, abs=1e-3)
    assert slew.result["pointing"]["dec_deg"] == pytest.approx(expected_dec, abs=0.01)
    assert abs(slew.result["pointing"]["altitude_deg"] - 50.0) < 0.5  # its own (simpler) sidereal time

    altaz = run(telescope, "slew_altaz", altitude_deg=30.0, azimuth_deg=90.0)
    assert altaz.status == OperationStatus.SUCCEEDED, altaz.error
    assert altaz.result["pointing"]["altitude_deg"] == pytest.approx(30.0, abs=0.01)

    # A long slew (15°/s) interrupted by an abort: the slew is cancelled, not left running.
    long_slew = request_operation(
        device=telescope, kind="slew_altaz", params={"altitude_deg": 80.0, "azimuth_deg": 270.0}, enqueue=False
    )
    assert advance_operation(operation_id=long_slew.pk) is not None  # started, slewing
    abort = run(telescope, "abort")
    assert abort.status == OperationStatus.SUCCEEDED
    assert abort.result["cancelled"] == [long_slew.pk]
    long_slew.refresh_from_db()
    assert long_slew.status == OperationStatus.CANCELLED and "aborted" in long_slew.error
    assert advance_operation(operation_id=long_slew.pk) is None

    park = run(telescope, "park")
    assert park.status == OperationStatus.SUCCEEDED and park.result["at_park"] is True
    assert run(telescope, "tracking", enabled=True).result["tracking"] is True
    kinds = set(Event.objects.filter(kind="telescope.operation.succeeded").values_list("payload__kind", flat=True))
    assert {"connect", "unpark", "slew_radec", "slew_altaz", "abort", "park", "tracking"} <= kinds


def test_slew_below_horizon_refused_nothing_written(devices, observatory):
    telescope = devices["telescope"]
    with pytest.raises(BelowHorizonError, match="below the horizon limit of Sim Observatory"):
        request_operation(device=telescope, kind="slew_altaz", params={"altitude_deg": 5.0, "azimuth_deg": 0.0})
    ra, dec = visible_radec(observatory, altitude=-20.0)
    with pytest.raises(BelowHorizonError):
        request_operation(device=telescope, kind="slew_radec", params={"ra_hours": ra, "dec_deg": dec})
    assert not Operation.objects.exists()


def test_parked_telescope_refuses_slew_clearly(devices):
    telescope = devices["telescope"]
    slew = run(telescope, "slew_altaz", altitude_deg=40.0, azimuth_deg=10.0)
    assert slew.status == OperationStatus.FAILED
    assert "refused: it is parked (unpark it first)" in slew.error


def test_dark_exposure_stored_as_fits_and_png(devices, media):
    camera = devices["camera"]
    run(camera, "connect")
    operation = run(camera, "expose", duration_s=0.2, light=False, binning=2)
    assert operation.status == OperationStatus.SUCCEEDED, operation.error
    exposure = Exposure.objects.get(pk=operation.result["exposure"])
    assert (exposure.width, exposure.height, exposure.binning) == (128, 128, 2)
    with fits.open(exposure.fits.path) as hdul:
        hdul.verify("exception")
        header, data = hdul[0].header, hdul[0].data
        assert data.shape == (128, 128)
        assert header["IMAGETYP"] == "Dark Frame" and header["EXPTIME"] == pytest.approx(0.2)
        assert np.issubdtype(data.dtype, np.integer) or data.dtype.kind in "uif"
        assert data.min() == exposure.stats["min"] and data.max() == exposure.stats["max"]
    with open(exposure.preview.path, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def test_light_exposure_uses_local_catalogue(devices, media):
    camera = devices["camera"]
    operation = run(camera, "expose", duration_s=0.2, light=True)
    assert operation.status == OperationStatus.SUCCEEDED, operation.error
    exposure = Exposure.objects.get(pk=operation.result["exposure"])
    with fits.open(exposure.fits.path) as hdul:
        assert hdul[0].header["IMAGETYP"] == "Light Frame"
        assert hdul[0].data.shape == (256, 256)


def test_light_exposure_without_catalogue_fails_clearly(observatory, simulator_without_catalogue, media):
    from telescopes.services import add_device

    camera = add_device(
        observatory=observatory, host="127.0.0.1", port=simulator_without_catalogue.port, device_type="camera"
    )
    operation = run(camera, "expose", duration_s=0.1, light=True)
    assert operation.status == OperationStatus.FAILED
    assert "reported an error during the exposure" in operation.error
    assert "star catalogue" in operation.error
    assert not Exposure.objects.exists()


def test_focuser_and_dome(devices):
    focuser, dome = devices["focuser"], devices["dome"]
    move = run(focuser, "focuser_move", position=12000)
    assert move.status == OperationStatus.SUCCEEDED and move.result["position"] == 12000
    too_far = run(focuser, "focuser_move", position=10**9)
    assert too_far.status == OperationStatus.FAILED and "outside 0..100000" in too_far.error
    assert run(dome, "dome_open").result["shutter"] == "open"
    assert run(dome, "dome_close").result["shutter"] == "closed"
    with pytest.raises(TelescopeError, match="not an operation of a dome"):
        request_operation(device=dome, kind="park")


def test_offline_device_fails_clearly_and_nothing_stays_open(devices, simulator):
    telescope = devices["telescope"]
    simulator.stop()
    slew = run(telescope, "slew_altaz", altitude_deg=45.0, azimuth_deg=100.0)
    assert slew.status == OperationStatus.FAILED
    assert "is unreachable: nothing answers" in slew.error
    assert Event.objects.filter(kind="telescope.operation.failed", payload__offline=True).exists()
    assert not Operation.objects.filter(status__in=["pending", "running"]).exists()


def test_sweeper_ends_operations_no_worker_took(devices):
    operation = request_operation(device=devices["telescope"], kind="park", enqueue=False, timeout_s=1)
    assert sweep_operations() == 0  # not yet past deadline + grace
    assert sweep_operations(now=timezone.now() + timedelta(seconds=60)) == 1
    operation.refresh_from_db()
    assert operation.status == OperationStatus.TIMED_OUT and "no worker picked it up" in operation.error


def test_operation_times_out_and_aborts_the_slew(devices):
    telescope = devices["telescope"]
    run(telescope, "unpark")
    operation = request_operation(
        device=telescope,
        kind="slew_altaz",
        params={"altitude_deg": 85.0, "azimuth_deg": 200.0},
        enqueue=False,
        timeout_s=0.3,
    )
    advance_operation(operation_id=operation.pk)
    time.sleep(0.4)
    assert advance_operation(operation_id=operation.pk) is None
    operation.refresh_from_db()
    assert operation.status == OperationStatus.TIMED_OUT and "did not finish within 0.3 s" in operation.error
