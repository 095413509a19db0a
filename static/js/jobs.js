/* Jobs pages: the live queue table, bulk actions, GPU charts (uPlot), the footprint map (Leaflet)
 * with a shift-drag bbox filter, and one job's live progress and log. Live data comes from
 * MissionOpsLive topics `jobs`, `gpus` and `job.<id>`; REST polling covers a lost socket. */
(function () {
  "use strict";
  const C = window.MissionOpsTheme.colour;

  const post = window.MissionOpsApi.postJSON;  // rejects with the API's detail as its message
  const getJSON = window.MissionOpsApi.getJSON;

  const utc = window.MissionOpsTime.utc;  // the pages' one timestamp format

  function updateRow(job) {
    const row = document.getElementById("job-" + job.id);
    if (!row) return false;
    if (job.state) {
      const cell = row.querySelector('[data-field="state"]');
      cell.textContent = job.state + (job.cancel_requested && job.state === "running" ? " (canceling)" : "");
      cell.dataset.state = job.state;
    }
    if (job.progress !== undefined) {
      row.querySelector('[data-field="progress"]').textContent = Math.round(job.progress);
      row.querySelector('[data-field="bar"]').style.width = job.progress + "%";
    }
    if (job.attempts !== undefined) row.querySelector('[data-field="attempts"]').textContent = job.attempts + "/" + job.max_attempts;
    if (job.gpu_index !== undefined) row.querySelector('[data-field="gpu"]').textContent = job.gpu_index === null ? "" : job.gpu_index;
    return true;
  }

  function gpuCharts() {
    const panel = document.getElementById("gpu-panel");
    if (!panel || !window.uPlot) return null;
    const rows = Array.from(panel.querySelectorAll("[data-gpu]"));
    if (!rows.length) return null;
    const ids = rows.map(function (r) { return Number(r.dataset.gpu); });
    const series = [{}].concat(ids.map(function (id, i) {
      return {label: rows[i].textContent.trim().split(" ").slice(0, 2).join(" "), stroke: C("--series-" + (i % 4 + 1)), width: 1.5};
    }));
    const width = Math.max(260, panel.clientWidth - 30);
    const util = [[]].concat(ids.map(function () { return []; }));
    const mem = [[]].concat(ids.map(function () { return []; }));
    // Time ticks at least 90 px apart: uPlot's default spacing crowds "hh:mm:ss" labels at a panel's width.
    const axes = [{stroke: C("--axis"), grid: {stroke: C("--grid")}, space: 90}, {stroke: C("--axis"), grid: {stroke: C("--grid")}, size: 60}];
    const utilPlot = new uPlot({title: "Utilization %", width: width, height: 150, series: series, axes: axes, scales: {y: {range: [0, 100]}}}, util, document.getElementById("gpu-util-chart"));
    const memPlot = new uPlot({title: "Memory used MB", width: width, height: 150, series: series, axes: axes}, mem, document.getElementById("gpu-mem-chart"));
    function push(at, byId) {
      util[0].push(at); mem[0].push(at);
      ids.forEach(function (id, i) {
        const s = byId[id];
        util[i + 1].push(s ? s.utilization_pct : null);
        mem[i + 1].push(s ? s.memory_used_mb : null);
      });
      if (util[0].length > 360) { util.forEach(function (a) { a.shift(); }); mem.forEach(function (a) { a.shift(); }); }
      utilPlot.setData(util); memPlot.setData(mem);
    }
    // History first: the last 15 minutes of samples per GPU, merged on their timestamps.
    Promise.all(ids.map(function (id) { return getJSON("/api/v1/gpus/" + id + "/samples/?minutes=15"); })).then(function (lists) {
      const byTime = {};
      lists.forEach(function (samples, i) {
        samples.forEach(function (s) { const t = Math.round(Date.parse(s.at) / 1000); (byTime[t] = byTime[t] || {})[ids[i]] = s; });
      });
      Object.keys(byTime).map(Number).sort().forEach(function (t) { push(t, byTime[t]); });
    });
    // `gpus`: GPU slots as /api/v1/gpus/ shows them; `at`: when they were sampled.
    return function (gpus, at) {
      const byId = {};
      gpus.forEach(function (g) {
        byId[g.id] = g;
        const row = panel.querySelector('[data-gpu="' + g.id + '"]');
        if (row) {
          row.querySelector('[data-field="util"]').textContent = Math.round(g.utilization_pct);
          row.querySelector('[data-field="mem"]').textContent = Math.round(g.memory_used_mb);
        }
      });
      push(Math.round(Date.parse(at) / 1000), byId);
    };
  }

  function footprintMap() {
    const el = document.getElementById("footprint-map");
    if (!el || !window.L) return;
    const data = JSON.parse(document.getElementById("footprints-data").textContent);
    const map = L.map(el, {worldCopyJump: true, boxZoom: false}).setView([20, 0], 1);
    // Offline basemap: Natural Earth land from world-atlas, drawn as GeoJSON (no tile server).
    fetch("/static/vendor/world-atlas/land-110m.json").then(function (r) { return r.json(); }).then(function (topo) {
      if (!window.topojson) return;
      const land = topojson.feature(topo, topo.objects.land);
      const features = land.type === "FeatureCollection" ? land.features : [land];
      const geometries = features.map(function (f) { return {type: "Feature", properties: {}, geometry: MissionOpsGeo.unwrapLand(f.geometry)}; });
      // Beneath the footprints and deaf to the mouse: drawn over them (it loads later), the land took
      // their hover and click wherever a footprint lay on land.
      L.geoJSON({type: "FeatureCollection", features: geometries}, {style: {color: C("--map-land-dim"), weight: 1, fillOpacity: 0.25}, interactive: false}).addTo(map).bringToBack();
    }).catch(function () {});
    const colours = {succeeded: C("--job-succeeded"), failed: C("--job-failed"), running: C("--job-running"), canceled: C("--job-canceled")};
    const bounds = [];
    data.forEach(function (j) {
      // Only polygons are accepted on submission; anything else is left off the map, not allowed
      // to stop the rest of the page.
      if (!j.footprint || j.footprint.type !== "Polygon" || !Array.isArray(j.footprint.coordinates[0])) return;
      const ring = MissionOpsGeo.unwrapRing(j.footprint.coordinates[0]).map(function (p) { return [p[1], p[0]]; });
      const shape = L.polygon(ring, {color: colours[j.state] || C("--highlight"), weight: 1}).addTo(map);
      const tip = document.createElement("span");  // as text: a string tooltip is set with innerHTML
      tip.textContent = j.name + " · " + j.state;
      shape.bindTooltip(tip);
      shape.on("click", function () { window.location.href = "/jobs/" + j.id + "/"; });
      ring.forEach(function (p) { bounds.push(p); });
    });
    if (bounds.length) map.fitBounds(bounds, {maxZoom: 6});
    // Shift-drag draws the bbox filter.
    let start = null, rect = null;
    map.on("mousedown", function (e) {
      if (!e.originalEvent.shiftKey) return;
      map.dragging.disable(); start = e.latlng;
      if (rect) rect.remove();
      rect = L.rectangle([start, start], {color: C("--highlight"), weight: 1}).addTo(map);
    });
    map.on("mousemove", function (e) { if (start) rect.setBounds([start, e.latlng]); });
    map.on("mouseup", function (e) {
      if (!start) return;
      map.dragging.enable();
      const b = L.latLngBounds(start, e.latlng); start = null;
      const norm = function (lon) { return ((((lon + 180) % 360) + 360) % 360) - 180; };  // JS % keeps the sign
      // A box a whole turn wide or more (the map repeats) is every longitude, not a wrapped sliver.
      const whole = b.getEast() - b.getWest() >= 360;
      const west = whole ? -180 : norm(b.getWest()), east = whole ? 180 : norm(b.getEast());
      const value = [west, b.getSouth(), east, b.getNorth()].map(function (v) { return v.toFixed(3); }).join(",");
      document.getElementById("bbox-input").value = value;
      document.getElementById("job-filters").submit();
    });
  }

  function bulkActions() {
    const all = document.getElementById("select-all");
    if (all) all.addEventListener("change", function () {
      document.querySelectorAll("input.pick").forEach(function (c) { c.checked = all.checked; });
    });
    document.querySelectorAll("[data-bulk]").forEach(function (button) {
      button.addEventListener("click", function () {
        const ids = Array.from(document.querySelectorAll("input.pick:checked")).map(function (c) { return Number(c.value); });
        if (!ids.length) return;
        const out = document.getElementById("bulk-result");
        post("/api/v1/jobs/bulk/", {action: button.dataset.bulk, ids: ids}).then(function (done) {
          out.textContent = button.dataset.bulk + ": " + done.done.length + " done, " + Object.keys(done.skipped).length + " skipped";
          if (button.dataset.bulk === "delete") done.done.forEach(function (id) { const row = document.getElementById("job-" + id); if (row) row.remove(); });
        }).catch(function (err) { out.textContent = err.message || "refused"; });
      });
    });
  }

  // The per-state counts cover every job of the caller's organizations, most of them not in the
  // table, so they are re-read (at most once a second) rather than worked out from messages.
  function liveCounts() {
    let pending = null;
    function refresh() {
      pending = null;
      getJSON("/api/v1/jobs/counts/").then(function (counts) {
        Object.keys(counts).forEach(function (state) {
          const el = document.querySelector('[data-count="' + state + '"]');
          if (el) el.textContent = counts[state];
        });
      });
    }
    return function () { if (!pending) pending = setTimeout(refresh, 1000); };
  }

  // Jobs submitted since the page loaded are not inserted into the table (its filters and order
  // are the server's): a link says how many there are and reloads.
  function newJobsNotice() {
    const link = document.getElementById("new-jobs"), loadedAt = Date.now(), fresh = new Set();
    return function (job) {
      if (!link || !job.created_at || document.getElementById("job-" + job.id)) return;
      if (Date.parse(job.created_at) < loadedAt - 2000 || fresh.has(job.id)) return;
      fresh.add(job.id);
      link.textContent = fresh.size + " new job" + (fresh.size === 1 ? "" : "s") + " since this page loaded: show";
      link.hidden = false;
    };
  }

  function queuePage() {
    footprintMap();
    bulkActions();
    const onGpus = gpuCharts(), recount = liveCounts(), noteNew = newJobsNotice();
    MissionOpsLive.subscribe("jobs", function (msg) {
      // msg.data: a job as /api/v1/jobs/ shows it (job.state), or its id with progress or deletion.
      if (msg.kind === "job.deleted") {
        const row = document.getElementById("job-" + msg.data.id);
        if (row) row.remove();
        recount();
        return;
      }
      updateRow(msg.data);
      if (msg.kind === "job.state") { recount(); noteNew(msg.data); }
    }, {
      poll: function () {
        recount();
        // The page's own filters (the same names as the API's), so its rows are among those read.
        const filters = window.location.search.slice(1);
        return getJSON("/api/v1/jobs/?page_size=200" + (filters ? "&" + filters : "")).then(function (page) { page.results.forEach(updateRow); });
      }
    });
    if (onGpus) MissionOpsLive.subscribe("gpus", function (msg) {
      if (msg.data.length) onGpus(msg.data, msg.data[0].sampled_at);
    }, {
      poll: function () {
        return getJSON("/api/v1/gpus/").then(function (gpus) {
          onGpus(gpus.filter(function (g) { return g.sampled_at; }), new Date().toISOString());
        });
      }
    });
  }

  function detailPage(id, lastLogId, renderedState) {
    const log = document.getElementById("job-log");
    let last = lastLogId;
    let state = renderedState;  // as the server rendered the page
    function addLine(line) {  // a line as /api/v1/jobs/<id>/logs/ shows it
      if (line.id <= last) return;
      last = line.id;
      const div = document.createElement("div");
      div.className = line.level;
      div.textContent = utc(line.at) + " [" + line.attempt + "] " + line.message;
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 5;
      log.appendChild(div);
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    function show(job) {
      if (job.progress !== undefined) {
        document.getElementById("job-progress").textContent = Math.round(job.progress);
        document.getElementById("job-bar").style.width = job.progress + "%";
      }
      if (job.message) document.getElementById("job-progress-message").textContent = job.message;
      if (job.state) {
        document.getElementById("job-state").textContent = job.state + (job.cancel_requested && job.state === "running" ? " (canceling)" : "");
        document.getElementById("job-attempts").textContent = job.attempts + "/" + job.max_attempts;
        document.getElementById("job-worker").textContent = job.worker || "—";
        document.getElementById("job-gpu").textContent = job.gpu_index === null ? "—" : job.gpu_index;
        if (job.started_at !== undefined) document.getElementById("job-started").textContent = utc(job.started_at);
        if (job.finished_at !== undefined) document.getElementById("job-finished").textContent = utc(job.finished_at);
        if (job.gpu_seconds !== undefined) document.getElementById("job-gpu-seconds").textContent = Number(job.gpu_seconds).toFixed(1);
        // The error and cancel reason of this attempt: shown when a watched job fails or is
        // canceled, cleared when it is retried.
        [["error", "job-error"], ["cancel_reason", "job-cancel-reason"]].forEach(function (pair) {
          if (job[pair[0]] === undefined) return;
          const cell = document.getElementById(pair[1]);
          const text = job[pair[0]] || "";
          cell.textContent = text.length > 300 ? text.slice(0, 299) + "…" : text;
          cell.parentElement.hidden = !job[pair[0]];
        });
        // Only the actions the new state allows (as the page renders them).
        const cancel = document.querySelector('[data-action="cancel"]'), retry = document.querySelector('[data-action="retry"]');
        if (cancel && job.can_cancel !== undefined) cancel.hidden = !job.can_cancel;
        if (retry && job.can_retry !== undefined) retry.hidden = !job.can_retry;
        // Succeeded while watched: reload once, for the quick-look and the result. The page of a job
        // that had already succeeded is never reloaded (every load polls, and would load again).
        if (job.state === "succeeded" && state !== "succeeded") window.location.reload();
        state = job.state;
      }
    }
    log.scrollTop = log.scrollHeight;
    let snapshots = 0;  // job.state messages received: each is the whole job, newer than any fetch in flight
    MissionOpsLive.subscribe("job." + id, function (msg) {
      if (msg.kind === "job.deleted") {
        document.getElementById("job-state").textContent = "deleted";
        document.querySelectorAll("[data-action]").forEach(function (b) { b.hidden = true; });
        return;
      }
      if (msg.kind === "job.state") snapshots += 1;
      if (msg.kind === "job.log") addLine(msg.data); else show(msg.data);
    }, {
      poll: function () {
        const seen = snapshots;
        return Promise.all([
          // A fetch answered after a live snapshot read the job before that change: drop it, or
          // the page would go back to the older state for good.
          getJSON("/api/v1/jobs/" + id + "/").then(function (job) { if (snapshots === seen) show(job); }),
          getJSON("/api/v1/jobs/" + id + "/logs/?after=" + last).then(function (lines) { lines.forEach(addLine); }),
        ]);
      }
    });
    document.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        const seen = snapshots;
        const out = document.getElementById("action-result");
        post("/api/v1/jobs/" + id + "/" + button.dataset.action + "/").then(function (job) {
          out.textContent = button.dataset.action + " requested";
          // As for a fetch: a live snapshot that came in meanwhile is newer than this answer.
          if (snapshots === seen) show(job);
        }).catch(function (err) { out.textContent = err.message || "refused"; });
      });
    });
  }

  window.MissionOpsJobs = {queuePage: queuePage, detailPage: detailPage};
  // The page says which it is on this script's tag (no inline script under the CSP).
  const tag = document.currentScript;
  if (tag && tag.dataset.page === "queue") queuePage();
  if (tag && tag.dataset.page === "detail") detailPage(Number(tag.dataset.job), Number(tag.dataset.lastLog), tag.dataset.state);
})();
