"""Footprints: GeoJSON polygons in lon/lat, their bounding boxes (antimeridian aware) and bbox queries."""

from django.db.models import F, Q

from .exceptions import JobParamsError


def validate_footprint(footprint, *, field: str = "footprint") -> dict:
    """A GeoJSON Polygon with one closed ring of at least 4 lon/lat positions, returned normalized."""
    if not isinstance(footprint, dict) or footprint.get("type") != "Polygon":
        raise JobParamsError("footprint must be a GeoJSON Polygon object", field=field)
    rings = footprint.get("coordinates")
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list):
        raise JobParamsError("footprint.coordinates must be a list of rings", field=field)
    ring = rings[0]
    if len(ring) < 4 or len(ring) > 1000:
        raise JobParamsError("footprint ring needs 4 to 1000 positions", field=field)
    clean = []
    for position in ring:
        if not isinstance(position, list | tuple) or len(position) < 2:
            raise JobParamsError("every position must be [lon, lat]", field=field)
        lon, lat = position[0], position[1]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
            raise JobParamsError("positions must be numbers", field=field)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise JobParamsError(f"position {[lon, lat]} is outside lon -180..180 / lat -90..90", field=field)
        clean.append([float(lon), float(lat)])
    if clean[0] != clean[-1]:
        raise JobParamsError("footprint ring must be closed (first position == last)", field=field)
    return {"type": "Polygon", "coordinates": [clean]}


def footprint_bbox(footprint: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north). A ring with an edge longer than 180° of longitude is taken to
    cross the antimeridian; its box then has west > east (e.g. 170 .. -170)."""
    ring = footprint["coordinates"][0]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    crosses = any(abs(a - b) > 180 for a, b in zip(lons, lons[1:], strict=False))
    if crosses:
        shifted = [lon + 360 if lon < 0 else lon for lon in lons]
        west, east = min(shifted), max(shifted)
        west = west - 360 if west > 180 else west
        east = east - 360 if east > 180 else east
    else:
        west, east = min(lons), max(lons)
    return west, min(lats), east, max(lats)


def parse_bbox(text: str, *, field: str = "bbox") -> tuple[float, float, float, float]:
    """`minlon,minlat,maxlon,maxlat`; minlon > maxlon asks for a box across the antimeridian."""
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise JobParamsError("bbox must be minlon,minlat,maxlon,maxlat (four numbers)", field=field) from None
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise JobParamsError("bbox out of range: lon -180..180, lat -90..90, minlat <= maxlat", field=field)
    return west, south, east, north


def bbox_intersects(west: float, south: float, east: float, north: float) -> Q:
    """Jobs whose footprint box intersects the given one; either box may cross the antimeridian."""
    lat = Q(bbox_south__lte=north, bbox_north__gte=south)
    job_plain = Q(bbox_west__lte=F("bbox_east"))
    job_wraps = Q(bbox_west__gt=F("bbox_east"))
    if west <= east:
        lon = (job_plain & Q(bbox_west__lte=east, bbox_east__gte=west)) | (
            job_wraps & (Q(bbox_west__lte=east) | Q(bbox_east__gte=west))
        )
    else:  # the query box wraps: [west, 180] U [-180, east]
        lon = job_wraps | (job_plain & (Q(bbox_east__gte=west) | Q(bbox_west__lte=east)))
    return lat & lon
