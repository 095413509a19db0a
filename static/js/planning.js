/* Planning page: offline world map (world-atlas TopoJSON in Leaflet), the requests' targets
 * coloured by state, the planned spacecraft's ground tracks (orbits API), and the target drawn
 * for a new request: a click places a point; more clicks and "Close polygon" make an area. The
 * drawn target goes into the form's hidden `target` field as GeoJSON. Request rows follow the
 * `events` topic live (imaging_request.* events carry the new state). */
(function () {
  "use strict";
  const el = document.getElementById("planning-map");
  if (!el) return;
  const C = window.MissionOpsTheme.colour;
  const COLOURS = {pending: C("--request-pending"), planned: C("--request-planned"), imaged: C("--request-imaged"),
                   downlinked: C("--request-done"), processed: C("--request-done"), failed: C("--request-failed"),
                   expired: C("--request-gone"), canceled: C("--request-gone")};
  const map = L.map(el, {worldCopyJump: false, minZoom: 1, maxBounds: [[-90, -200], [90, 200]]}).setView([20, 0], 2);
  fetch(el.dataset.atlas).then(function (r) { return r.json(); }).then(function (atlas) {
    const countries = topojson.feature(atlas, atlas.objects.countries);
    const land = {type: "FeatureCollection", features: countries.features.map(function (f) {
      return {type: "Feature", properties: {}, geometry: f.geometry && MissionOpsGeo.unwrapLand(f.geometry)};
    }).filter(function (f) { return f.geometry; })};
    L.geoJSON(land, {style: {color: C("--map-land-edge"), weight: 0.6, fillColor: C("--map-land"), fillOpacity: 1}, interactive: false}).addTo(map).bringToBack();
  });

  // Names are whatever an operator typed: a tooltip gets an element with text, never a string
  // (Leaflet puts a string in with innerHTML).
  function text(value) { const span = document.createElement("span"); span.textContent = value; return span; }
  const targets = JSON.parse(document.getElementById("planning-targets").textContent);
  const markers = {};
  targets.forEach(function (t) {
    markers[t.id] = L.circleMarker([t.lat, t.lon], {radius: t.polygon ? 7 : 5, color: C("--marker-edge"), weight: 1, fillColor: COLOURS[t.state] || C("--request-gone"), fillOpacity: 0.9})
      .bindTooltip(text(t.name + " (" + t.state + ")")).addTo(map);
  });
  JSON.parse(document.getElementById("planning-tracks").textContent).forEach(function (id) {
    fetch("/api/v1/spacecraft/" + id + "/ground-track/?minutes_before=0&minutes_after=190", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) { if (fc) L.geoJSON(fc, {style: {color: C("--map-track"), weight: 1.2, opacity: 0.8}, interactive: false}).addTo(map); });
  });

  // Drawing the new request's target.
  const field = document.querySelector('#request-form input[name="target"]');
  const readout = document.getElementById("target-readout");
  let vertices = [], drawn = null;
  function show(geometry) {
    if (drawn) map.removeLayer(drawn);
    drawn = geometry ? L.geoJSON(geometry, {style: {color: C("--drawing"), weight: 2}, pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 6, color: C("--drawing")}); }}).addTo(map) : null;
    if (field) field.value = geometry ? JSON.stringify(geometry) : "";
    if (readout) readout.textContent = geometry ? geometry.type + " " + JSON.stringify(geometry.coordinates).slice(0, 80) : "";
  }
  function round(v) { return Math.round(v * 1e5) / 1e5; }
  map.on("click", function (e) {
    const lon = round(((e.latlng.lng + 180) % 360 + 360) % 360 - 180), lat = round(e.latlng.lat);
    vertices.push([lon, lat]);
    show(vertices.length === 1 ? {type: "Point", coordinates: vertices[0]}
                               : {type: "LineString", coordinates: vertices});
    if (vertices.length > 1 && field) field.value = "";  // an open line is no target until closed
  });
  const close = document.getElementById("close-polygon");
  if (close) close.addEventListener("click", function () {
    if (vertices.length < 3) { if (readout) readout.textContent = "a polygon needs at least 3 points"; return; }
    show({type: "Polygon", coordinates: [vertices.concat([vertices[0]])]});
    vertices = [];
  });
  const clear = document.getElementById("clear-target");
  if (clear) clear.addEventListener("click", function () { vertices = []; show(null); });
  if (field && field.value) { try { show(JSON.parse(field.value)); } catch (err) { /* left for the server to refuse */ } }

  if (window.MissionOpsLive) {
    MissionOpsLive.subscribe("events", function (msg) {
      const kind = (msg.data && msg.data.kind) || "";  // msg.data: the event as /api/v1/events/ shows it
      if (kind.indexOf("imaging_request.") !== 0) return;
      const id = String(msg.data.subject_id || "");
      const state = kind.slice("imaging_request.".length);
      const row = document.querySelector('#request-table tr[data-id="' + id + '"]');
      if (!row || !COLOURS[state]) return;
      const cell = row.querySelector('[data-f="state"]');
      cell.textContent = state.charAt(0).toUpperCase() + state.slice(1);
      cell.className = "state-" + state;
      if (markers[id]) markers[id].setStyle({fillColor: COLOURS[state]});
    });
  }
})();
