/* Alarm counts in the navigation bar on every page: a badge on the Alarms link, kept current from
 * the `alarms` topic (or by polling the counts endpoint while the socket is down). Include it in
 * base.html after live.js. */
(function () {
  "use strict";
  const link = document.querySelector('nav.areas a[href="/alarms/"]');
  if (!link || !window.MissionOpsLive) return;
  const badge = document.createElement("span");
  badge.className = "alarm-badge";
  badge.hidden = true;
  link.appendChild(badge);

  function show(counts) {
    const open = counts.open || 0;
    badge.hidden = open === 0;
    badge.textContent = String(open);
    badge.className = "alarm-badge" + (counts.open_critical ? " critical" : open ? " warning" : "");
    badge.title = counts.open_critical + " critical, " + counts.open_warning + " warning unacknowledged";
  }

  function load() {
    return fetch("/api/v1/anomalies/counts/", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (counts) { if (counts) show(counts); });
  }

  let pending = null;
  MissionOpsLive.subscribe("alarms", function () {
    if (pending) return;
    pending = window.setTimeout(function () { pending = null; load(); }, 500);
  }, {poll: load});
  load();
})();
