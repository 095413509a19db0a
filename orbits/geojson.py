"""Ground tracks as GeoJSON, split where they cross the antimeridian (±180°)."""

import math

import numpy as np


def split_antimeridian(lats, lons) -> list[list[list[float]]]:
    """Lines of [lon, lat] points; a jump of more than 180° in longitude between samples is a
    crossing: both pieces end on the meridian at the interpolated latitude."""
    lines: list[list[list[float]]] = []
    current: list[list[float]] = []
    prev = None
    # Python floats: numpy scalars make this loop several times slower (a fleet is ~10k points).
    for lat, lon in zip(np.asarray(lats, dtype=float).tolist(), np.asarray(lons, dtype=float).tolist(), strict=True):
        if not (math.isfinite(lat) and math.isfinite(lon)):
            if len(current) > 1:
                lines.append(current)
            current, prev = [], None
            continue
        if prev is not None and abs(lon - prev[1]) > 180:
            edge = 180.0 if prev[1] > 0 else -180.0
            unwrapped = lon + 360.0 if edge > 0 else lon - 360.0
            fraction = (edge - prev[1]) / (unwrapped - prev[1])
            crossing_lat = prev[0] + fraction * (lat - prev[0])
            current.append([edge, round(crossing_lat, 5)])
            lines.append(current)
            current = [[-edge, round(crossing_lat, 5)]]
        current.append([round(lon, 5), round(lat, 5)])
        prev = (lat, lon)
    if len(current) > 1:
        lines.append(current)
    return lines


def track_feature(lats, lons, properties: dict) -> dict:
    lines = split_antimeridian(lats, lons)
    if len(lines) == 1:
        geometry = {"type": "LineString", "coordinates": lines[0]}
    else:
        geometry = {"type": "MultiLineString", "coordinates": lines}
    return {"type": "Feature", "geometry": geometry, "properties": properties}
