/* Telemetry page: value cards by subsystem (live, coloured by tolerance, greyed when stale), the
 * ingest rate, and a uPlot chart fed by /api/v1/telemetry/series/ that re-queries on zoom and range,
 * with the parameter's warning and critical limits as bands, and compared parameters stacked under
 * it on the same range with one shared cursor.
 */
(function () {
  "use strict";
  const C = window.MissionOpsTheme.colour;
  const root = document.getElementById("tm-values");
  const scId = root.dataset.spacecraft;
  const API = "/api/v1/telemetry/";
  const rows = {};  // parameter -> latest row (from the latest endpoint, updated live)
  let selected = null, rangeS = 3600, zoom = null, plot = null, chartTimer = null;
  let seriesAsked = 0;  // numbers series requests: only the latest one's answer is drawn
  let compared = [];  // parameters stacked under the main chart, one cursor for all
  const compares = {};  // parameter -> its uPlot
  const SYNC = "tm-" + scId;

  function get(path, params) {
    const q = new URLSearchParams(params).toString();
    return fetch(API + path + "?" + q, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(path + ": " + r.status);
      return r.json();
    });
  }

  function fmt(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "number") return Math.abs(value) >= 1000 || Number.isInteger(value) ? String(Math.round(value * 100) / 100) : value.toPrecision(4);
    return String(value);
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) return "never";
    if (seconds < 90) return Math.max(0, Math.round(seconds)) + " s ago";
    if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
    if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h ago";
    return Math.round(seconds / 86400) + " d ago";
  }

  function render() {
    const groups = {};
    Object.values(rows).forEach(function (row) {
      const key = row.subsystem || "undeclared";
      (groups[key] = groups[key] || []).push(row);
    });
    root.innerHTML = "";
    Object.keys(groups).sort().forEach(function (subsystem) {
      const section = document.createElement("section");
      section.className = "card tm-subsystem";
      section.innerHTML = "<h2></h2><div class=\"tm-cards\"></div>";
      section.querySelector("h2").textContent = subsystem;
      const cards = section.querySelector(".tm-cards");
      groups[subsystem].sort(function (a, b) { return a.parameter.localeCompare(b.parameter); }).forEach(function (row) {
        const card = document.createElement("div");
        card.className = "tm-card";
        card.dataset.parameter = row.parameter;
        card.title = limitsText(row);
        card.innerHTML = "<div class=\"name\"></div><div class=\"value\"></div><div class=\"age\"></div>";
        card.querySelector(".name").textContent = row.parameter + (row.declared ? "" : " ·undeclared");
        card.addEventListener("click", function () { select(row.parameter); });
        cards.appendChild(card);
        row.card = card;
        paint(row);
      });
      root.appendChild(section);
    });
    if (!Object.keys(rows).length) root.innerHTML = "<p class=\"muted\">No parameters yet.</p>";
  }

  function limitsText(row) {
    const l = row.limits || {};
    return row.parameter + " [" + (row.units || "") + "] crit " + fmt(l.crit_low) + "…" + fmt(l.crit_high) + ", warn " + fmt(l.warn_low) + "…" + fmt(l.warn_high);
  }

  function paint(row) {
    if (!row.card) return;
    const seconds = row.time ? (Date.now() - Date.parse(row.time)) / 1000 : null;
    row.card.dataset.status = row.status || "unknown";
    row.card.dataset.stale = String(seconds === null || seconds > row.stale_after_s);
    row.card.dataset.selected = String(row.parameter === selected);
    row.card.querySelector(".value").textContent = fmt(row.value) + (row.units && row.value !== null ? " " + row.units : "");
    row.card.querySelector(".age").textContent = age(seconds);
  }

  function showRate(rate) {
    if (!rate) return;
    document.getElementById("tm-rate-total").textContent = rate.total === null ? "?" : rate.total;
    const parts = Object.entries(rate.by_interface || {}).map(function (e) { return e[0] + " " + e[1]; });
    document.getElementById("tm-rate-by").textContent = parts.length ? "(" + parts.join(", ") + ")" : "";
  }

  // LatestValues, from GET latest/ (every parameter) or a live `telemetry` message (the changed
  // ones): the same rows, merged the same way.
  function showLatest(data) {
    let added = !Object.keys(rows).length;
    data.values.forEach(function (row) {
      if (!rows[row.parameter]) added = true;
      rows[row.parameter] = Object.assign(rows[row.parameter] || {}, row);
    });
    // A parameter first seen after page load (live or by polling) gets its card and option.
    if (added) { render(); addOptions(); } else data.values.forEach(function (row) { paint(rows[row.parameter]); });
    showRate(data.rate);
    if (!selected && data.values.length) select(data.values[0].parameter);
  }

  function loadLatest() {
    return get("latest/", {spacecraft: scId}).then(showLatest);
  }

  function addOptions() {
    ["tm-parameter", "tm-compare"].forEach(function (id) {
      const menu = document.getElementById(id);
      const listed = new Set(Array.from(menu.options, function (o) { return o.value; }));
      Object.keys(rows).sort().forEach(function (name) {
        if (listed.has(name)) return;
        const units = rows[name].units;
        menu.add(new Option(name + (units ? " (" + units + ")" : ""), name));
      });
    });
    if (selected) document.getElementById("tm-parameter").value = selected;
  }

  function onLive(msg) {
    if (msg.kind === "telemetry") showLatest(msg.data);
  }

  // --- chart -----------------------------------------------------------------------------------
  function select(parameter) {
    selected = parameter; zoom = null;
    document.getElementById("tm-parameter").value = parameter;
    Object.values(rows).forEach(paint);
    loadSeries();
  }

  function currentRange() {
    if (zoom) return zoom;
    const end = new Date();
    return {start: new Date(end.getTime() - rangeS * 1000), end: end};
  }

  function seriesParams(parameter, range, el) {
    const maxPoints = Math.max(100, Math.min(2000, Math.floor(el.clientWidth || 800)));
    return {spacecraft: scId, parameter: parameter, start: range.start.toISOString(), end: range.end.toISOString(), max_points: maxPoints};
  }

  function loadSeries() {
    if (!selected) return;
    const range = currentRange();
    const el = document.getElementById("tm-chart");
    const params = seriesParams(selected, range, el);
    document.getElementById("tm-export").href = API + "export/?" + new URLSearchParams({spacecraft: scId, parameter: selected, start: params.start, end: params.end});
    const asked = performance.now(), request = ++seriesAsked;
    get("series/", params).then(function (s) {
      if (request !== seriesAsked) return;  // a newer request (zoom, range, parameter) was sent meanwhile
      const xs = s.t.map(function (t) { return Date.parse(t) / 1000; });
      if (plot) plot.destroy();
      plot = chart(el, selected, s, [xs, s.min, s.avg, s.max], range, 320, true);
      document.getElementById("tm-chart-info").textContent = s.t.length + " buckets of " + s.bucket_s + " s from " + s.source + " · " + Math.round(performance.now() - asked) + " ms";
    }).catch(function (e) {
      if (request === seriesAsked) document.getElementById("tm-chart-info").textContent = String(e);
    });
    loadCompared(range, request);
  }

  // Compared parameters: one small chart each under the main one, same range, one cursor.
  function loadCompared(range, request) {
    const box = document.getElementById("tm-compare-charts");
    Object.keys(compares).forEach(function (name) {
      if (compared.indexOf(name) < 0 || name === selected) { compares[name].destroy(); delete compares[name]; }
    });
    box.querySelectorAll("[data-parameter]").forEach(function (div) {
      if (!compares[div.dataset.parameter] && compared.indexOf(div.dataset.parameter) < 0) div.remove();
    });
    compared.filter(function (name) { return name !== selected; }).forEach(function (name) {
      let div = box.querySelector('[data-parameter="' + CSS.escape(name) + '"]');
      if (!div) {
        div = document.createElement("div");
        div.className = "tm-compare-chart";
        div.dataset.parameter = name;
        box.appendChild(div);
      }
      get("series/", seriesParams(name, range, div)).then(function (s) {
        if (request !== seriesAsked || compared.indexOf(name) < 0) return;
        const xs = s.t.map(function (t) { return Date.parse(t) / 1000; });
        if (compares[name]) compares[name].destroy();
        compares[name] = chart(div, name, s, [xs, s.min, s.avg, s.max], range, 160, false);
      }).catch(function (e) { div.textContent = name + ": " + String(e); });
    });
  }

  // Warning and critical limits of the parameter (its current limit set) as bands beyond them.
  function limitBands(parameter) {
    return {
      hooks: {
        drawClear: [function (u) {
          const row = rows[parameter], l = (row && row.limits) || {};
          const ctx = u.ctx, left = u.bbox.left, width = u.bbox.width, top = u.bbox.top, bottom = top + u.bbox.height;
          const y = function (v) { return Math.min(bottom, Math.max(top, u.valToPos(v, "y", true))); };
          function band(from, to, colour) {
            const y0 = y(from), y1 = y(to);
            if (Math.abs(y1 - y0) < 0.5) return;
            ctx.fillStyle = colour;
            ctx.fillRect(left, Math.min(y0, y1), width, Math.abs(y1 - y0));
          }
          ctx.save();
          const min = u.scales.y.min, max = u.scales.y.max;
          if (typeof l.crit_high === "number") band(l.crit_high, Math.max(max, l.crit_high), C("--band-critical"));
          if (typeof l.warn_high === "number") band(l.warn_high, typeof l.crit_high === "number" ? l.crit_high : Math.max(max, l.warn_high), C("--band-warning"));
          if (typeof l.crit_low === "number") band(Math.min(min, l.crit_low), l.crit_low, C("--band-critical"));
          if (typeof l.warn_low === "number") band(typeof l.crit_low === "number" ? l.crit_low : Math.min(min, l.warn_low), l.warn_low, C("--band-warning"));
          ctx.restore();
        }],
      },
    };
  }

  // The y range holds the data and the warning limits, so the bands show where the value stands.
  function withLimits(parameter, min, max) {
    const row = rows[parameter], l = (row && row.limits) || {};
    const values = [min, max, l.warn_low, l.warn_high].filter(function (v) { return typeof v === "number" && isFinite(v); });
    if (!values.length) return [0, 1];
    let lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }

  function chart(el, parameter, series, data, range, height, main) {
    const units = series.units ? " (" + series.units + ")" : "";
    const name = main ? "" : parameter + " ";
    const plugins = [limitBands(parameter)];
    if (main && window.MissionOpsAnomalies) {
      plugins.push(window.MissionOpsAnomalies.shading(scId, parameter), window.MissionOpsAnomalies.forecast(scId, parameter));
    }
    const opts = {
      width: el.clientWidth || 800, height: height,
      scales: {
        x: {time: true, min: range.start.getTime() / 1000, max: range.end.getTime() / 1000},
        y: {range: function (u, min, max) { return withLimits(parameter, min, max); }},
      },
      axes: [{stroke: C("--axis"), grid: {stroke: C("--grid")}}, {stroke: C("--axis"), grid: {stroke: C("--grid")}, size: 60}],
      series: [
        {},
        {label: name + "min" + units, stroke: C("--series-edge"), width: 1},
        {label: name + "avg" + units, stroke: C("--series-main"), width: 2},
        {label: name + "max" + units, stroke: C("--series-edge"), width: 1},
      ],
      bands: [{series: [3, 1], fill: C("--series-band")}],
      plugins: plugins,
      cursor: {sync: {key: SYNC}, drag: {x: true, y: false, setScale: false}},
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 5) return;
          const start = u.posToVal(u.select.left, "x"), end = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({left: 0, width: 0}, false);
          zoom = {start: new Date(start * 1000), end: new Date(end * 1000)};
          loadSeries();
        }],
      },
    };
    const made = new uPlot(opts, data, el);
    made.over.addEventListener("dblclick", function () { zoom = null; loadSeries(); });
    return made;
  }

  document.getElementById("tm-parameter").addEventListener("change", function (e) { select(e.target.value); });
  document.getElementById("tm-compare").addEventListener("change", function (e) {
    compared = Array.from(e.target.selectedOptions, function (o) { return o.value; });
    loadSeries();
  });
  document.querySelectorAll(".tm-range button").forEach(function (button) {
    button.addEventListener("click", function () {
      document.querySelectorAll(".tm-range button").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      rangeS = Number(button.dataset.range); zoom = null; loadSeries();
    });
  });
  window.addEventListener("resize", function () {
    if (plot) plot.setSize({width: document.getElementById("tm-chart").clientWidth, height: 320});
    Object.keys(compares).forEach(function (name) {
      compares[name].setSize({width: compares[name].root.parentNode.clientWidth, height: 160});
    });
  });

  // Ages tick every second; the chart follows "now" unless zoomed.
  window.setInterval(function () { Object.values(rows).forEach(paint); }, 1000);
  chartTimer = window.setInterval(function () { if (!zoom && !document.hidden) loadSeries(); }, 15000);

  loadLatest().catch(function (e) { root.innerHTML = "<p class=\"error\"></p>"; root.firstChild.textContent = String(e); });
  MissionOpsLive.subscribe("sc." + scId, onLive, {poll: loadLatest});
  window.MissionOpsTelemetry = {reload: loadSeries, rows: rows, chartTimer: chartTimer, charts: function () { return {main: plot, compared: compares}; }};
})();

// The spacecraft picker opens the chosen spacecraft's page.
(function () {
  const pick = document.getElementById("tm-spacecraft");
  if (pick) pick.addEventListener("change", function (e) { window.location = e.target.value; });
})();
