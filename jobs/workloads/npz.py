"""The uploaded tile input format: a NumPy .npz archive (numpy.savez or savez_compressed) holding
one 2-D array per band, named like tile.BANDS, all of one shape and dtype. Float bands are
reflectance in [0, 1.6]; uint8 / uint16 bands come with a `scale` (reflectance = value / scale,
e.g. 10000 for uint16 surface reflectance). Above 1 is allowed: bright clouds, snow and sun glint
exceed it in real surface-reflectance products.

Each member's .npy header is checked (shape, dtype) before its data is inflated, so a small file
cannot expand into gigabytes, and arrays are read with allow_pickle=False: never pickle.
Every refusal is a JobParamsError naming `file` or `scale`."""

import io
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import JobParamsError
from .bands import BANDS

MAX_SIDE_PX = 4096
INTEGER_DTYPES = ("uint8", "uint16")
FLOAT_DTYPES = ("float16", "float32", "float64")
MAX_SCALE = 1e9
EXPECTED = ", ".join(BANDS)
MAX_REFLECTANCE = 1.6


@dataclass(frozen=True)
class BandArchive:
    height_px: int
    width_px: int
    dtype: str
    scale: float
    bands: dict[str, np.ndarray] = field(repr=False)  # as stored (not yet divided by the scale)


def read_band_archive(data: bytes, *, scale: float | None = None, keep: bool = True) -> BandArchive:
    """Validate an uploaded .npz and return its bands (`keep=False`: check only, keep no arrays)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise JobParamsError(
            "not a NumPy .npz archive (a zip of .npy arrays): write it with numpy.savez or numpy.savez_compressed",
            field="file",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _band_members(archive)
            headers = {name: _header(archive, member, name) for name, member in members.items()}
            height, width, dtype = _check_headers(headers)
            scale = _check_scale(scale, dtype)
            bands = {}
            for name in BANDS:
                band = _read(archive, members[name], name)
                _check_values(band, name, scale)
                bands[name] = band if keep else None
    except JobParamsError:
        raise
    except Exception as error:  # zipfile reports damaged input with many types (BadZipFile, zlib.error,
        # EOFError, RuntimeError for an "encrypted" flag, struct.error, ...): all of them are the file's fault
        raise JobParamsError(f"corrupt .npz archive: {type(error).__name__}: {error}"[:300], field="file") from None
    return BandArchive(height, width, dtype, scale, bands if keep else {})


def _band_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if name not in BANDS or not info.filename.endswith(".npy"):
            raise JobParamsError(f"unexpected array {name!r} in the archive; expected exactly {EXPECTED}", field="file")
        if name in members:
            raise JobParamsError(f"band {name!r} appears twice in the archive", field="file")
        members[name] = info
    for name in BANDS:
        if name not in members:
            raise JobParamsError(f"band {name!r} is missing: the archive needs arrays named {EXPECTED}", field="file")
    return members


def _header(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> tuple[tuple, np.dtype]:
    try:
        with archive.open(member) as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except ValueError as error:
        raise JobParamsError(f"band {name!r} is not a readable .npy array: {error}", field="file") from None
    return shape, dtype


def _check_headers(headers: dict[str, tuple[tuple, np.dtype]]) -> tuple[int, int, str]:
    for name, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise JobParamsError(
                f"band {name!r} holds Python objects (a pickled array); only numeric arrays are accepted", field="file"
            )
        if dtype.name not in INTEGER_DTYPES + FLOAT_DTYPES:
            raise JobParamsError(
                f"band {name!r} has dtype {dtype}; use {', '.join(INTEGER_DTYPES + FLOAT_DTYPES)}", field="file"
            )
        if len(shape) != 2:
            raise JobParamsError(
                f"band {name!r} must be a 2-D array (rows, columns); its shape is {shape}", field="file"
            )
        if not (0 < shape[0] <= MAX_SIDE_PX and 0 < shape[1] <= MAX_SIDE_PX):
            raise JobParamsError(
                f"band {name!r} is {shape[0]}x{shape[1]} px; each side must be 1 to {MAX_SIDE_PX} px", field="file"
            )
    shapes = {name: shape for name, (shape, _) in headers.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {s[0]}x{s[1]}" for name, s in shapes.items())
        raise JobParamsError(f"bands differ in shape ({listed}); all must be the same", field="file")
    dtypes = {name: dtype.name for name, (_, dtype) in headers.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} {d}" for name, d in dtypes.items())
        raise JobParamsError(f"bands differ in dtype ({listed}); all must be the same", field="file")
    height, width = shapes[BANDS[0]]
    return height, width, dtypes[BANDS[0]]


def _check_scale(scale: float | None, dtype: str) -> float:
    if dtype in FLOAT_DTYPES:
        if scale not in (None, 1, 1.0):
            raise JobParamsError(
                f"scale applies to integer bands; these are {dtype}, reflectance already", field="scale"
            )
        return 1.0
    if scale is None:
        raise JobParamsError(
            f"{dtype} bands need a scale: reflectance = value / scale (e.g. 10000 for uint16 surface reflectance)",
            field="scale",
        )
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= MAX_SCALE:
        raise JobParamsError(f"scale must be a number above 0 and at most {MAX_SCALE:g}", field="scale")
    return float(scale)


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> np.ndarray:
    try:
        with archive.open(member) as fp:
            return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError as error:
        raise JobParamsError(f"band {name!r} could not be read: {error}", field="file") from None


def _check_values(band: np.ndarray, name: str, scale: float) -> None:
    if band.dtype.kind == "f":
        bad = int(band.size - np.count_nonzero(np.isfinite(band)))
        if bad:
            raise JobParamsError(f"band {name!r} has {bad} non-finite value(s) (NaN or infinity)", field="file")
    low, high = float(band.min()) / scale, float(band.max()) / scale
    if low < 0.0 or high > MAX_REFLECTANCE:
        stored = f" (value / scale {scale:g})" if band.dtype.kind == "u" else ""
        raise JobParamsError(
            f"band {name!r} reflectance must be within [0, {MAX_REFLECTANCE:g}]{stored}; it spans {low:g} to {high:g}",
            field="file",
        )
