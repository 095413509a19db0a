/* Overview: live battery, memory and mode from the `fleet` topic (the same state the tiles were
   drawn from), countdowns and ages ticking every second, and the tiles redrawn by the server every
   30 s (alarms, passes, freshness, sparklines). */
(function () {
  const root = document.getElementById("overview");
  if (!root) return;
  function words(seconds) {
    seconds = Math.abs(seconds);
    if (seconds < 90) return Math.round(seconds) + " s";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
    return (seconds / 86400).toFixed(1) + " d";
  }
  function tick() {
    const now = Date.now();
    root.querySelectorAll("[data-countdown]").forEach(function (el) {
      const s = (Date.parse(el.dataset.countdown) - now) / 1000;
      el.textContent = s > 0 ? words(s) : "now";
    });
    root.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = words((now - Date.parse(el.dataset.since)) / 1000) + " ago";
    });
  }
  function place(sc) {
    const tile = document.getElementById("tile-" + sc.id);
    if (!tile) return;
    tile.querySelector('[data-field="battery_soc_pct"]').textContent = Number(sc.battery_soc_pct).toFixed(1);
    tile.querySelector('[data-field="memory_used_pct"]').textContent = Number(sc.memory_used_pct).toFixed(1);
    tile.querySelector('[data-field="battery_meter"]').value = sc.battery_soc_pct;
    tile.querySelector('[data-field="memory_meter"]').value = sc.memory_used_pct;
    const badge = tile.querySelector('[data-field="mode"]');
    badge.textContent = sc.mode;
    badge.className = "mode-badge mode-" + sc.mode;
  }
  function refresh() {
    return fetch(root.dataset.refresh, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { root.innerHTML = html; tick(); });
  }
  MissionOpsLive.subscribe("fleet", function (msg) {
    if (msg.kind === "state") place(msg.data);
  }, {poll: refresh});
  window.setInterval(tick, 1000);
  window.setInterval(function () { refresh().catch(function () {}); }, 30000);
  tick();
})();
