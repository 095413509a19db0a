"""Image files without a heavy dependency: a FITS writer (primary HDU, 16-bit unsigned via BZERO
or 32-bit signed) and an 8-bit PNG preview with a percentile stretch."""

import struct
import zlib
from datetime import datetime

import numpy as np

FITS_BLOCK = 2880


def _card(key: str, value, comment: str = "") -> bytes:
    if isinstance(value, bool):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int):
        text = f"{value:>20d}"
    elif isinstance(value, float):
        text = f"{value:>20.10G}"
    else:
        escaped = str(value).replace("'", "''")[:68]
        text = f"'{escaped:<8}'"
    card = f"{key:<8}= {text}"
    if comment:
        card += f" / {comment}"
    return card[:80].ljust(80).encode("ascii", "replace")


def fits_bytes(image: np.ndarray, header: dict | None = None) -> bytes:
    """A single-HDU FITS file. `image` is indexed [y, x] (rows first), as FITS stores NAXIS1 = x.
    Values that fit 0..65535 are stored as BITPIX 16 with BZERO 32768, others as BITPIX 32."""
    data = np.asarray(image)
    if data.ndim != 2:
        raise ValueError("a FITS image here is 2-D")
    height, width = data.shape
    unsigned16 = data.size == 0 or (data.min() >= 0 and data.max() <= 65535)
    cards = [
        _card("SIMPLE", True, "conforms to FITS standard"),
        _card("BITPIX", 16 if unsigned16 else 32, "bits per data value"),
        _card("NAXIS", 2),
        _card("NAXIS1", int(width)),
        _card("NAXIS2", int(height)),
    ]
    if unsigned16:
        cards += [_card("BZERO", 32768, "unsigned 16-bit offset"), _card("BSCALE", 1)]
    for key, value in (header or {}).items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
        if isinstance(value, np.generic):
            value = value.item()
        cards.append(_card(key.upper()[:8], value))
    cards.append(b"END".ljust(80))
    head = b"".join(cards)
    head += b" " * (-len(head) % FITS_BLOCK)
    stored = (data.astype(np.int32) - 32768).astype(">i2") if unsigned16 else data.astype(">i4")
    payload = stored.tobytes()
    payload += b"\0" * (-len(payload) % FITS_BLOCK)
    return head + payload


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_preview(image: np.ndarray, *, max_side: int = 512) -> bytes:
    """An 8-bit grayscale PNG, downsampled to at most `max_side` and stretched between the 1st and
    99.5th percentiles so faint stars show."""
    data = np.asarray(image, dtype=float)
    step = max(1, int(np.ceil(max(data.shape) / max_side)))
    data = data[::step, ::step]
    low, high = np.percentile(data, [1.0, 99.5]) if data.size else (0.0, 1.0)
    scaled = np.clip((data - low) / max(high - low, 1e-9), 0, 1)
    pixels = (np.sqrt(scaled) * 255).astype(np.uint8)
    height, width = pixels.shape
    raw = b"".join(b"\0" + pixels[row].tobytes() for row in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(raw, 6))
        + _png_chunk(b"IEND", b"")
    )


def image_stats(image: np.ndarray) -> dict:
    data = np.asarray(image, dtype=float)
    return {
        "min": float(data.min()),
        "max": float(data.max()),
        "mean": round(float(data.mean()), 3),
        "std": round(float(data.std()), 3),
    }
