"""Frames a camera took, kept as FITS with a PNG preview (operations and tracking sessions both
store theirs here)."""

import numpy as np
from django.core.files.base import ContentFile

from missionops import live

from .. import imaging
from ..models import AlpacaDevice, Exposure
from ..representations import ExposureSerializer

CAMERA_ERROR = 5  # ASCOM CameraStates.cameraError


def store_exposure(
    *,
    camera: AlpacaDevice,
    image: np.ndarray,
    started_at,
    duration_s: float,
    light: bool,
    binning: int = 1,
    pointing: dict | None = None,
    operation=None,
    session=None,
) -> Exposure:
    """Keep a downloaded frame as FITS (with its header) and a PNG preview."""
    pointing = pointing or {}
    header = {
        "DATE-OBS": started_at,
        "EXPTIME": duration_s,
        "IMAGETYP": "Light Frame" if light else "Dark Frame",
        "XBINNING": binning,
        "YBINNING": binning,
        "INSTRUME": camera.name[:60],
        "TELESCOP": camera.observatory.name[:60],
        "SITELAT": camera.observatory.latitude_deg,
        "SITELONG": camera.observatory.longitude_deg,
        "OBJCTRA": pointing.get("ra_hours"),
        "OBJCTDEC": pointing.get("dec_deg"),
        "OBJCTALT": pointing.get("altitude_deg"),
        "OBJCTAZ": pointing.get("azimuth_deg"),
    }
    stamp = started_at.strftime("%Y%m%dT%H%M%S%f")
    exposure = Exposure(
        camera=camera,
        operation=operation,
        session=session,
        started_at=started_at,
        duration_s=duration_s,
        light=light,
        width=image.shape[1],
        height=image.shape[0],
        binning=binning,
        pointing=pointing,
        stats=imaging.image_stats(image),
    )
    exposure.fits.save(f"{camera.pk}-{stamp}.fits", ContentFile(imaging.fits_bytes(image, header)), save=False)
    exposure.preview.save(f"{camera.pk}-{stamp}.png", ContentFile(imaging.png_preview(image)), save=False)
    exposure.save()
    live.publish(
        "telescopes",
        live.live_message("exposure", ExposureSerializer, exposure),
        organization=camera.observatory.organization,
    )
    return exposure
