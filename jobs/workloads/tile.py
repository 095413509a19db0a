"""Tile processing: multispectral bands for a footprint, NDVI, cloud mask, statistics and PNG
quick-looks. The same code runs on NumPy or CuPy (`xp`). Bands come from a band source, one row
block at a time: synthesized from the footprint box and the seed (integer hashing and sinusoids,
so CPU and GPU give the same tile), or read from an uploaded array file (`params.input`, a
TileInput; format in npz.py)."""

import hashlib
import time

import numpy as np

from ..exceptions import JobParamsError
from ..geo import footprint_bbox
from .bands import BANDS
from .params import choice, number, only_known
from .png import encode_png

QUICKLOOK_MAX_PX = 256
HISTOGRAM_BINS = 20


SYNTHETIC_ONLY = ("seed", "size_px", "cloud_cover")


def validate_params(params) -> dict:
    """With `input` (an uploaded TileInput id) the bands and the size come from that file, so the
    synthetic scene's params are refused rather than silently ignored. Whether the input exists in
    the job's organization is checked where specs are cleaned (services.clean_spec)."""
    params = only_known(params, {"seed", "size_px", "cloud_cover", "cloud_threshold", "device", "blocks", "input"})
    if params.get("input") is not None:
        for key in SYNTHETIC_ONLY:
            if key in params:
                raise JobParamsError(
                    f"{key} applies to synthetic tiles only; with input the bands and size come from the file",
                    field=f"params.{key}",
                )
        return {
            "input": number(params, "input", None, low=1, high=2**63 - 1, integer=True),
            "cloud_threshold": number(params, "cloud_threshold", 0.3, low=0.0, high=1.0),
            "device": choice(params, "device", "auto", ("auto", "cpu", "gpu")),
            "blocks": number(params, "blocks", 8, low=1, high=64, integer=True),
        }
    return {
        "seed": number(params, "seed", 0, low=0, high=2**31 - 1, integer=True),
        "size_px": number(params, "size_px", 512, low=32, high=4096, integer=True),
        "cloud_cover": number(params, "cloud_cover", 0.3, low=0.0, high=1.0),
        "cloud_threshold": number(params, "cloud_threshold", 0.3, low=0.0, high=1.0),
        "device": choice(params, "device", "auto", ("auto", "cpu", "gpu")),
        "blocks": number(params, "blocks", 8, low=1, high=64, integer=True),
    }


def array_module(device: str, gpu_index: int | None, simulated: bool):
    """CuPy when asked or allowed, importable, and a real device is there; NumPy otherwise."""
    if device == "cpu" or simulated or gpu_index is None:
        return np, "numpy"
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > gpu_index:
            cupy.cuda.Device(gpu_index).use()
            return cupy, "cupy"
    except Exception:  # no cupy, no driver, no device: the CPU path gives the same tile
        pass
    return np, "numpy"


def scene_parameters(bbox, seed: int) -> dict:
    """Random but reproducible scene: sinusoid components for land cover and for clouds."""
    key = hashlib.sha256(f"{seed}:{[round(v, 6) for v in bbox]}".encode()).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(key[:8], "little")))
    return {
        "land": [
            (rng.uniform(0.5, 1.5), rng.uniform(1, 12), rng.uniform(1, 12), rng.uniform(0, 6.283)) for _ in range(6)
        ],
        "cloud": [
            (rng.uniform(0.5, 1.5), rng.uniform(4, 30), rng.uniform(4, 30), rng.uniform(0, 6.283)) for _ in range(5)
        ],
        "hash_seed": int.from_bytes(key[8:12], "little"),
    }


def _field(xp, x, y, components):
    total = xp.zeros(x.shape, dtype=xp.float64)
    for amplitude, fx, fy, phase in components:
        total += amplitude * xp.sin(fx * x + fy * y + phase)
    return total / len(components)


def _hash_noise(xp, rows, cols, hash_seed: int):
    """Uniform noise in [-0.5, 0.5) from pixel coordinates alone: identical on CPU and GPU."""
    h = (rows.astype(xp.uint32) * xp.uint32(0x9E3779B1)) ^ (cols.astype(xp.uint32) * xp.uint32(0x85EBCA77))
    h = h ^ xp.uint32(hash_seed)
    h = h ^ (h >> xp.uint32(15))
    h = h * xp.uint32(0x2C1B3C6D)
    h = h ^ (h >> xp.uint32(12))
    h = h * xp.uint32(0x297A2D39)
    h = h ^ (h >> xp.uint32(15))
    return h.astype(xp.float64) / 4294967296.0 - 0.5


def synthesize_block(xp, scene, size: int, row0: int, row1: int, cloud_cover: float):
    """Reflectance bands (0..1) for rows [row0, row1) of a size x size tile, plus the true cloud opacity."""
    rows, cols = xp.meshgrid(xp.arange(row0, row1), xp.arange(size), indexing="ij")
    x, y = (cols + 0.5) / size, (rows + 0.5) / size
    vegetation = 1.0 / (1.0 + xp.exp(-4.0 * _field(xp, x, y, scene["land"])))
    noise = _hash_noise(xp, rows, cols, scene["hash_seed"]) * 0.04
    cloudiness = _field(xp, x, y, scene["cloud"]) * 0.5 + 0.5  # 0..1
    opacity = xp.clip((cloudiness - (1.0 - cloud_cover)) * 4.0, 0.0, 1.0)
    bare = 1.0 - vegetation
    bands = {
        "blue": 0.03 + 0.10 * bare + noise * 0.5,
        "green": 0.05 + 0.06 * vegetation + 0.10 * bare + noise * 0.5,
        "red": 0.03 + 0.25 * bare + noise,
        "nir": 0.12 + 0.45 * vegetation + 0.10 * bare + noise,
    }
    for name in BANDS:
        bands[name] = xp.clip(bands[name] * (1.0 - opacity) + 0.75 * opacity, 0.0, 1.0)
    return bands, opacity


def ndvi_of(xp, red, nir):
    return (nir - red) / xp.maximum(nir + red, 1e-6)


def cloud_mask_of(xp, bands, threshold: float):
    """Clouds are bright in the blue band and spectrally flat (NIR close to red)."""
    return (bands["blue"] > threshold) & (xp.abs(bands["nir"] - bands["red"]) < 0.2)


def to_numpy(xp, array):
    return array.get() if hasattr(array, "get") and xp is not np else np.asarray(array)


class SyntheticBands:
    """Bands synthesized from the footprint box and the seed: a square tile of `size_px`."""

    def __init__(self, *, bbox, params: dict):
        self.scene = scene_parameters(bbox, params["seed"])
        self.size, self.cloud_cover = params["size_px"], params["cloud_cover"]
        self.height = self.width = self.size
        self.shape_stats = {"size_px": self.size}

    def block(self, xp, row0: int, row1: int) -> dict:
        bands, _ = synthesize_block(xp, self.scene, self.size, row0, row1, self.cloud_cover)
        return bands


class UploadedBands:
    """Bands of an uploaded array file, held as stored (e.g. uint16); each row block goes to the
    device in that dtype and becomes float64 reflectance there (value / scale)."""

    def __init__(self, *, bands: dict[str, np.ndarray], scale: float):
        self.bands, self.scale = bands, scale
        self.height, self.width = bands[BANDS[0]].shape
        self.shape_stats = {"height_px": self.height, "width_px": self.width}

    def block(self, xp, row0: int, row1: int) -> dict:
        return {name: xp.asarray(self.bands[name][row0:row1]).astype(xp.float64) / self.scale for name in BANDS}


def process_tile(*, params: dict, bbox=None, source=None, xp=np, on_block=None) -> tuple[dict, dict[str, np.ndarray]]:
    """Statistics and quick-look pixels for one tile, from `source` (a band source: height, width,
    shape_stats and block(xp, row0, row1) -> bands), by default the synthetic bands of `bbox`.
    `on_block(done, total)` after each row block (the caller reports progress and raises there to cancel)."""
    if source is None:
        source = SyntheticBands(bbox=bbox, params=params)
    height, width = source.height, source.width
    blocks = min(params["blocks"], height)
    step = max(1, max(height, width) // QUICKLOOK_MAX_PX)
    edges = [round(height * k / blocks) for k in range(blocks + 1)]
    ndvi_parts, mask_parts, rgb_parts = [], [], []
    for k in range(blocks):
        bands = source.block(xp, edges[k], edges[k + 1])
        ndvi = ndvi_of(xp, bands["red"], bands["nir"])
        mask = cloud_mask_of(xp, bands, params["cloud_threshold"])
        ndvi_parts.append(ndvi)
        mask_parts.append(mask)
        rgb = xp.stack([bands["red"], bands["green"], bands["blue"]], axis=-1)
        first = (-edges[k]) % step  # keep the global every-`step`-th row
        rgb_parts.append(rgb[first::step, ::step])
        if on_block:
            on_block(k + 1, blocks)
    ndvi = xp.concatenate(ndvi_parts)
    cloud = xp.concatenate(mask_parts)
    clear = ndvi[~cloud]
    clear_count = int(clear.size)
    stats = {
        **source.shape_stats,
        "pixels": height * width,
        "cloud_fraction": float(cloud.mean()),
        "clear_pixels": clear_count,
    }
    if clear_count:
        p10, p50, p90 = (float(v) for v in xp.percentile(clear, xp.asarray([10.0, 50.0, 90.0])))
        histogram, _ = xp.histogram(clear, bins=HISTOGRAM_BINS, range=(-1.0, 1.0))
        stats.update(
            ndvi_mean=float(clear.mean()),
            ndvi_std=float(clear.std()),
            ndvi_min=float(clear.min()),
            ndvi_max=float(clear.max()),
            ndvi_p10=p10,
            ndvi_p50=p50,
            ndvi_p90=p90,
            vegetation_fraction=float((clear > 0.3).mean()),
            ndvi_histogram=[int(v) for v in to_numpy(xp, histogram)],
        )
    rgb = to_numpy(xp, xp.concatenate(rgb_parts))
    ndvi_small = to_numpy(xp, ndvi[::step, ::step])
    return stats, {"rgb": rgb, "ndvi": ndvi_small, "cloud": to_numpy(xp, cloud[::step, ::step])}


def quicklook_png(rgb: np.ndarray) -> bytes:
    """True colour with a gamma stretch."""
    stretched = np.clip((rgb / 0.35) ** (1 / 1.8), 0, 1)
    return encode_png((stretched * 255 + 0.5).astype(np.uint8))


def ndvi_png(ndvi: np.ndarray, cloud: np.ndarray) -> bytes:
    """NDVI from brown (-0.2) to green (0.8); clouds white."""
    t = np.clip((ndvi + 0.2) / 1.0, 0, 1)[..., None]
    low, high = np.array([140, 100, 60]), np.array([20, 140, 40])
    pixels = low * (1 - t) + high * t
    pixels[cloud] = 255
    return encode_png(pixels.astype(np.uint8))


def run(ctx, params) -> dict:
    bbox = footprint_bbox(ctx.footprint)
    xp, backend = array_module(params["device"], ctx.gpu_index, ctx.gpu_simulated)
    if params["device"] == "gpu" and backend != "cupy":
        ctx.log("device=gpu asked but no CuPy device here: running on NumPy", level="warning")
    started = time.monotonic()
    source, described = None, {}
    if params.get("input") is not None:
        source, described = _uploaded_source(ctx, params["input"])
        ctx.log(
            f"tile input {described['input']} {described['input_name']!r}: {source.height}x{source.width} px "
            f"{described['input_dtype']} (scale {source.scale:g}), bbox {bbox}, backend {backend}"
        )
    else:
        ctx.log(
            f"tile {params['size_px']}x{params['size_px']} px, seed {params['seed']}, bbox {bbox}, backend {backend}"
        )

    def on_block(done, total):
        ctx.check()
        ctx.progress(80.0 * done / total, f"bands + NDVI + cloud mask: block {done}/{total}")

    stats, pictures = process_tile(bbox=bbox, source=source, params=params, xp=xp, on_block=on_block)
    ctx.log(f"statistics: cloud {stats['cloud_fraction']:.1%}, NDVI mean {stats.get('ndvi_mean', float('nan')):.3f}")
    ctx.check()
    ctx.progress(90.0, "writing quick-looks")
    ctx.artifact("quicklook.png", "image/png", quicklook_png(pictures["rgb"]))
    ctx.artifact("ndvi.png", "image/png", ndvi_png(pictures["ndvi"], pictures["cloud"]))
    elapsed = time.monotonic() - started
    ctx.log(f"done in {elapsed:.2f} s on {backend}")
    return {**stats, **described, "backend": backend, "bbox": list(bbox), "elapsed_s": round(elapsed, 3)}


def _uploaded_source(ctx, input_id: int) -> tuple[UploadedBands, dict]:
    from .inputs import load_tile_input  # the database only where a job reads an upload

    ctx.progress(1.0, f"reading tile input {input_id}")
    # A deleted input raises TileInputUnavailable, a PermanentJobError: the job fails once, no retries.
    tile_input, archive = load_tile_input(organization_id=ctx.organization_id, input_id=input_id)
    ctx.check()
    described = {
        "input": tile_input.pk,
        "input_name": tile_input.name,
        "input_dtype": archive.dtype,
        "input_sha256": tile_input.sha256,
    }
    return UploadedBands(bands=archive.bands, scale=archive.scale), described
