/* Orbits map: offline world basemap (world-atlas TopoJSON in Leaflet, no tiles), stations with
 * visibility circles, live positions from the `fleet` topic (REST polling when the socket is
 * down) and ground tracks from /api/v1/orbits/ground-tracks/. */
(function () {
  "use strict";
  const C = window.MissionOpsTheme.colour;
  const EARTH_RADIUS_M = 6371000, ORBIT_KM = 550;
  const el = document.getElementById("orbit-map");
  const stations = JSON.parse(document.getElementById("orbit-stations-data").textContent);
  const fleet = JSON.parse(document.getElementById("orbit-spacecraft-data").textContent);
  const map = L.map(el, {worldCopyJump: false, minZoom: 1, maxBounds: [[-90, -200], [90, 200]]}).setView([20, 0], 2);

  fetch(el.dataset.atlas).then(function (r) { return r.json(); }).then(function (atlas) {
    // Countries across 180° (Russia, Fiji, Antarctica) unwrapped: drawn as they come they make
    // bands across the whole map.
    const countries = topojson.feature(atlas, atlas.objects.countries);
    const land = {type: "FeatureCollection", features: countries.features.map(function (f) {
      return {type: "Feature", properties: {}, geometry: f.geometry && MissionOpsGeo.unwrapLand(f.geometry)};
    }).filter(function (f) { return f.geometry; })};
    L.geoJSON(land, {style: {color: C("--map-land-edge"), weight: 0.6, fillColor: C("--map-land"), fillOpacity: 1}, interactive: false}).addTo(map).bringToBack();
  });

  // Earth central angle seen from a station above its minimum elevation for a given orbit height.
  function footprintRadiusM(minElDeg) {
    const e = minElDeg * Math.PI / 180, ratio = EARTH_RADIUS_M / (EARTH_RADIUS_M + ORBIT_KM * 1000);
    return EARTH_RADIUS_M * (Math.acos(ratio * Math.cos(e)) - e);
  }
  // A marker's label as text: Leaflet puts a string `html` in with innerHTML, and names are
  // whatever an operator typed.
  function label(text, dotClass) {
    const span = document.createElement("span");
    if (dotClass) { const dot = document.createElement("span"); dot.className = dotClass; span.appendChild(dot); }
    span.appendChild(document.createTextNode(text));
    return span;
  }
  stations.forEach(function (st) {
    L.circle([st.lat, st.lon], {radius: footprintRadiusM(st.min_el), color: C("--map-station"), weight: 1, fillOpacity: 0.07}).addTo(map);
    L.marker([st.lat, st.lon], {icon: L.divIcon({className: "sc-marker", html: label("▲ " + st.name), iconSize: null})}).addTo(map);
  });

  const markers = {}, tracks = {};
  // `p` is a position as /api/v1/orbits/positions/ gives it, live or polled.
  function place(p) {
    const id = p.spacecraft, at = [p.latitude_deg, p.longitude_deg];
    const icon = L.divIcon({className: "sc-marker", html: label(p.designation, "sc-dot" + (p.sunlit ? "" : " eclipse")), iconSize: null});
    if (!markers[id]) markers[id] = L.marker(at, {icon: icon}).addTo(map);
    else { markers[id].setLatLng(at); markers[id].setIcon(icon); }
    const row = document.querySelector('#orbit-table tr[data-id="' + id + '"]');
    if (row) {
      row.querySelector('[data-f="lat"]').textContent = p.latitude_deg.toFixed(2);
      row.querySelector('[data-f="lon"]').textContent = p.longitude_deg.toFixed(2);
      row.querySelector('[data-f="alt_km"]').textContent = p.altitude_km.toFixed(1);
      row.querySelector('[data-f="speed_km_s"]').textContent = p.speed_km_s.toFixed(3);
      row.querySelector('[data-f="sunlit"]').textContent = p.sunlit ? "sunlit" : "eclipse";
      const age = row.querySelector('[data-f="tle_age_days"]');
      if (age && p.tle_age_days !== undefined) {
        age.textContent = p.tle_age_days.toFixed(1) + " d" + (p.tle_warning ? " ⚠" : "");
        age.title = p.tle_warning || "";
        age.classList.toggle("warning", Boolean(p.tle_warning));
      }
    }
  }
  function loadTracks() {
    // The whole fleet's tracks in one request (one propagation on the server).
    fetch("/api/v1/orbits/ground-tracks/?minutes_before=45&minutes_after=95", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) {
        if (!fc) return;
        Object.keys(tracks).forEach(function (id) { map.removeLayer(tracks[id]); delete tracks[id]; });
        fc.features.forEach(function (feature) {
          tracks[feature.properties.spacecraft] = L.geoJSON(feature, {style: {color: C("--map-track"), weight: 1.2, opacity: 0.8}, interactive: false}).addTo(map);
        });
      });
  }
  loadTracks();
  window.setInterval(loadTracks, 5 * 60 * 1000);

  MissionOpsLive.subscribe("fleet", function (msg) {
    if (msg.kind !== "positions" || !msg.data.length) return;
    msg.data.forEach(place);
    document.getElementById("orbit-updated").textContent = "updated " + new Date(msg.data[0].at).toISOString().substring(11, 19) + " UTC";
  }, {
    poll: function () {
      return fetch("/api/v1/orbits/positions/", {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (items) {
          items.forEach(place);
          document.getElementById("orbit-updated").textContent = "polled " + new Date().toISOString().substring(11, 19) + " UTC";
        });
    }
  });
})();
