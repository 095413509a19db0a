/* missionops/health.html: moved out of the template (no inline script under the CSP). */
(function () {
  function light(el, status) { if (el) { el.className = "light light-" + String(status).toLowerCase(); } }
  MissionOpsLive.subscribe("health", function (msg) {
    const li = document.createElement("li");
    li.textContent = window.MissionOpsTime.utc(new Date().toISOString()) + " " + (msg.name || msg.component) + ": " + msg.from + " → " + msg.to + " (" + (msg.detail || "") + ")";
    document.getElementById("health-log").prepend(li);
    if (msg.kind === "device") {
      const row = document.getElementById("device-" + msg.id);
      if (row) { light(row.querySelector('[data-field="light"]'), msg.to); row.querySelector('[data-field="status"]').textContent = msg.to; row.querySelector('[data-field="detail"]').textContent = msg.detail; }
    }
  }, {
    poll: function () {
      return fetch("/health/", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (report) {
        Object.entries(report.components).forEach(function ([name, c]) {
          const row = document.querySelector('[data-component="' + name + '"]');
          if (row) { light(row.querySelector(".light"), c.status); row.querySelector('[data-field="status"]').textContent = c.status; row.querySelector('[data-field="detail"]').textContent = c.detail; }
        });
      });
    }
  });
})();
