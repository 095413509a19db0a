/* missionops/health.html: moved out of the template (no inline script under the CSP). */
(function () {
  function light(el, status) { if (el) { el.className = "light light-" + String(status).toLowerCase(); } }
  function log(name, from, to, detail) {
    const li = document.createElement("li");
    li.textContent = window.MissionOpsTime.utc(new Date().toISOString()) + " " + name + ": " + (from || "—") + " → " + to + " (" + (detail || "") + ")";
    document.getElementById("health-log").prepend(li);
  }
  // Rows of the /health/ report: all of them from a poll, the changed one from a live `component`
  // message (null: the component left the report).
  function showComponents(components, logged) {
    Object.entries(components).forEach(function ([name, c]) {
      const row = document.querySelector('[data-component="' + name + '"]');
      const from = row ? row.querySelector('[data-field="status"]').textContent : null;
      if (logged) log(name, from, c ? c.status : "left the report", c ? c.detail : "");
      if (row && !c) { row.remove(); return; }
      if (row) { light(row.querySelector(".light"), c.status); row.querySelector('[data-field="status"]').textContent = c.status; row.querySelector('[data-field="detail"]').textContent = c.detail; }
    });
  }
  // Live messages carry the REST representations: `component` a part of the /health/ report,
  // `device` an Alpaca device as GET /api/v1/alpaca-devices/{id}/ shows it.
  MissionOpsLive.subscribe("health", function (msg) {
    if (msg.kind === "component") showComponents(msg.data.components, true);
    if (msg.kind === "device") {
      const d = msg.data, row = document.getElementById("device-" + d.id);
      const from = row ? row.querySelector('[data-field="status"]').textContent : null;
      log(d.name || d.device_type + " " + d.device_number, from, d.health_status, d.health_detail);
      if (row) { light(row.querySelector('[data-field="light"]'), d.health_status); row.querySelector('[data-field="status"]').textContent = d.health_status; row.querySelector('[data-field="detail"]').textContent = d.health_detail; }
    }
  }, {
    poll: function () {
      return fetch("/health/", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (report) {
        showComponents(report.components, false);
      });
    }
  });
})();
