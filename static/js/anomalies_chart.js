/* Anomaly episodes shaded on a uPlot time chart (x in UNIX seconds).
 *
 *   opts.plugins = [MissionOpsAnomalies.shading(spacecraftId, parameterName)];
 *
 * The plugin asks /api/v1/anomalies/ for the parameter's episodes overlapping the visible range
 * (the list's filters) and fills one translucent band per episode under the series: red for
 * critical, amber for warning, open-ended while an episode is still active. */
(function () {
  "use strict";
  const C = window.MissionOpsTheme.colour;
  const FILL = {critical: C("--band-critical"), warning: C("--band-warning")};

  function fetchEpisodes(spacecraft, parameter, min, max) {
    // Only episodes overlapping [min, max], newest first: oldest first, a long history filled the
    // 500 with episodes from before the visible range and left it unshaded.
    const query = new URLSearchParams({spacecraft: spacecraft, parameter: parameter, ordering: "-started_at", limit: "500"});
    query.set("active_since", new Date(min * 1000).toISOString());
    query.set("until", new Date(max * 1000).toISOString());
    ["open", "acknowledged", "shelved", "resolved"].forEach(function (s) { query.append("state", s); });
    return fetch("/api/v1/anomalies/?" + query.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {results: []}; })
      .then(function (page) {
        return (page.results || []).map(function (a) {
          const end = a.cleared_at || (a.is_active ? null : a.last_seen_at);
          return {start: Date.parse(a.started_at) / 1000, end: end ? Date.parse(end) / 1000 : null, severity: a.severity,
                  title: a.message};
        }).filter(function (e) { return e.end === null || e.end >= min; });
      });
  }

  function shading(spacecraft, parameter) {
    let episodes = [];
    return {
      hooks: {
        init: [function (u) {
          const min = u.scales.x.min, max = u.scales.x.max;
          fetchEpisodes(spacecraft, parameter, min, max).then(function (list) { episodes = list; u.redraw(false); });
        }],
        drawClear: [function (u) {
          const ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
          episodes.forEach(function (e) {
            const x0 = u.valToPos(Math.max(e.start, u.scales.x.min), "x", true);
            const x1 = u.valToPos(Math.min(e.end === null ? u.scales.x.max : e.end, u.scales.x.max), "x", true);
            if (x1 <= x0) return;
            ctx.save();
            ctx.fillStyle = FILL[e.severity] || FILL.warning;
            ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
            ctx.restore();
          });
        }],
      },
    };
  }

  function fetchForecast(spacecraft, parameter) {
    const query = new URLSearchParams({spacecraft: spacecraft, parameter: parameter});
    return fetch("/api/v1/telemetry/forecast/?" + query.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.status === 200 ? r.json() : null; })
      .catch(function () { return null; });
  }

  function duration(seconds) {
    const minutes = Math.round(seconds / 60), h = Math.floor(minutes / 60), m = minutes % 60;
    return h ? h + " h" + (m ? " " + m + " min" : "") : m + " min";
  }

  // The time-to-limit forecast as a dashed line from the fitted value now towards the limit it
  // meets (clipped to the chart), with the crossing named at the right edge.
  function forecast(spacecraft, parameter) {
    let line = null;
    return {
      hooks: {
        init: [function (u) {
          fetchForecast(spacecraft, parameter).then(function (f) {
            if (f && f.warns) { line = f; u.redraw(false); }
          });
        }],
        draw: [function (u) {
          if (!line) return;
          const [a, b] = line.projection;
          const t0 = Date.parse(a.time) / 1000, t1 = Date.parse(b.time) / 1000;
          const ctx = u.ctx, xmax = u.scales.x.max;
          const tEnd = Math.min(t1, xmax), vEnd = a.value + (b.value - a.value) * ((tEnd - t0) / Math.max(1, t1 - t0));
          ctx.save();
          ctx.strokeStyle = C("--forecast");
          ctx.lineWidth = 2;
          ctx.setLineDash([6, 4]);
          ctx.beginPath();
          ctx.moveTo(u.valToPos(t0, "x", true), u.valToPos(a.value, "y", true));
          ctx.lineTo(u.valToPos(tEnd, "x", true), u.valToPos(vEnd, "y", true));
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = C("--forecast");
          ctx.font = "12px sans-serif";
          ctx.textAlign = "right";
          const left = (Date.parse(line.crosses_at) - Date.now()) / 1000;
          ctx.fillText("→ " + line.limit_name + " " + line.limit + " in ~" + duration(Math.max(0, left)),
                       u.bbox.left + u.bbox.width - 4, u.bbox.top + 14);
          ctx.restore();
        }],
      },
    };
  }

  window.MissionOpsAnomalies = {shading: shading, fetchEpisodes: fetchEpisodes, forecast: forecast,
                                fetchForecast: fetchForecast};
})();
