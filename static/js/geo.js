/* Map geometry shared by the dashboard's Leaflet maps (no tiles; world-atlas TopoJSON land). */
(function () {
  "use strict";
  // A ring's longitudes made continuous (each within 180° of the one before), so a ring across
  // the antimeridian draws as one shape on Leaflet's flat map instead of a band across the world.
  function unwrapRing(ring) {
    let prev = null;
    return ring.map(function (p) {
      let lon = p[0];
      if (prev !== null) { while (lon - prev > 180) lon -= 360; while (prev - lon > 180) lon += 360; }
      prev = lon;
      return [lon, p[1]];
    });
  }

  // Land rings as unwrapRing makes them, moved by whole turns so each one's middle is on the map
  // Leaflet shows first (it does not repeat vector layers), except rings around a pole
  // (Antarctica's spans all 360°, which the flat map already draws right).
  function unwrapLand(geometry) {
    const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    const unwrapped = polygons.map(function (polygon) {
      return polygon.map(function (ring) {
        const flat = unwrapRing(ring), lons = flat.map(function (p) { return p[0]; });
        const west = Math.min.apply(null, lons), east = Math.max.apply(null, lons);
        if (east - west >= 359.9) return ring;
        const turns = Math.round((west + east) / 2 / 360);
        return turns ? flat.map(function (p) { return [p[0] - 360 * turns, p[1]]; }) : flat;
      });
    });
    return {type: "MultiPolygon", coordinates: unwrapped};
  }

  window.MissionOpsGeo = {unwrapRing: unwrapRing, unwrapLand: unwrapLand};
})();
