"""A minimal PNG encoder (8-bit RGB or grey, no interlace) so quick-looks need no imaging library."""

import struct
import zlib

import numpy as np


def encode_png(pixels: np.ndarray) -> bytes:
    """`pixels`: uint8 array, (h, w) grey or (h, w, 3) RGB."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError("need a uint8 (h, w) or (h, w, 3) array")
    height, width = pixels.shape[:2]
    colour_type = 0 if pixels.ndim == 2 else 2
    rows = pixels.reshape(height, -1)
    raw = np.hstack([np.zeros((height, 1), np.uint8), rows]).tobytes()  # filter type 0 per row

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
