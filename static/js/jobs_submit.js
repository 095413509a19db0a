/* Job submission: the footprint drawn on an offline map (shift-drag) fills the bbox field, and a
   bbox typed (or from a template) is drawn. */
(function () {
  "use strict";
  const C = window.MissionOpsTheme.colour;
  const el = document.getElementById("submit-map"), input = document.getElementById("submit-bbox");
  if (!el || !input || !window.L) return;
  const map = L.map(el, {worldCopyJump: true, boxZoom: false}).setView([20, 0], 1);
  fetch("/static/vendor/world-atlas/land-110m.json").then(function (r) { return r.json(); }).then(function (topo) {
    if (!window.topojson) return;
    const land = topojson.feature(topo, topo.objects.land);
    const features = land.type === "FeatureCollection" ? land.features : [land];
    const geometries = features.map(function (f) { return {type: "Feature", properties: {}, geometry: MissionOpsGeo.unwrapLand(f.geometry)}; });
    L.geoJSON({type: "FeatureCollection", features: geometries}, {style: {color: C("--axis"), weight: 1, fillColor: C("--grid"), fillOpacity: 0.8}, interactive: false}).addTo(map).bringToBack();
  }).catch(function () {});
  let rect = null, start = null;
  function drawFromInput() {
    const parts = input.value.split(",").map(Number);
    if (parts.length !== 4 || parts.some(isNaN)) return;
    const bounds = [[parts[1], parts[0]], [parts[3], parts[2]]];
    if (rect) rect.setBounds(bounds); else rect = L.rectangle(bounds, {color: C("--selection"), weight: 2}).addTo(map);
    map.fitBounds(bounds, {maxZoom: 6});
  }
  map.on("mousedown", function (e) {
    if (!e.originalEvent.shiftKey) return;
    map.dragging.disable(); start = e.latlng;
    if (rect) rect.remove();
    rect = L.rectangle([start, start], {color: C("--selection"), weight: 2}).addTo(map);
  });
  map.on("mousemove", function (e) { if (start) rect.setBounds([start, e.latlng]); });
  map.on("mouseup", function (e) {
    if (!start) return;
    map.dragging.enable();
    const b = L.latLngBounds(start, e.latlng); start = null;
    const norm = function (lon) { return ((((lon + 180) % 360) + 360) % 360) - 180; };
    const whole = b.getEast() - b.getWest() >= 360;
    const west = whole ? -180 : norm(b.getWest()), east = whole ? 180 : norm(b.getEast());
    input.value = [west, b.getSouth(), east, b.getNorth()].map(function (v) { return v.toFixed(3); }).join(",");
  });
  input.addEventListener("change", drawFromInput);
  drawFromInput();
})();
