/* spacecraft/fleet.html: moved out of the template (no inline script under the CSP). */
(function () {
  const board = document.getElementById("fleet");
  function place(sc) {
    let card = document.getElementById("sc-" + sc.id);
    if (!card) { window.location.reload(); return; }  // a new spacecraft: the server renders it
    card.querySelector(".designation").textContent = sc.designation;
    card.querySelector(".name").textContent = sc.name;
    card.querySelector('[data-field="battery_soc_pct"]').textContent = Number(sc.battery_soc_pct).toFixed(1);
    card.querySelector('[data-field="memory_used_pct"]').textContent = Number(sc.memory_used_pct).toFixed(1);
    const badge = card.querySelector('[data-field="mode"]');
    badge.textContent = sc.mode;
    badge.className = "mode-badge mode-" + sc.mode;
    if (card.dataset.mode !== sc.mode) {
      card.dataset.mode = sc.mode;
      board.querySelector('.mode-column[data-mode="' + sc.mode + '"] .sc-list').appendChild(card);
      board.querySelectorAll(".mode-column").forEach(function (col) {
        col.querySelector(".count").textContent = col.querySelectorAll(".sc-card").length;
      });
    }
  }
  MissionOpsLive.subscribe("fleet", function (msg) {
    if (msg.kind === "state") place(msg.data);  // the spacecraft as /api/v1/spacecraft/ shows it
    if (msg.kind === "deleted") { const c = document.getElementById("sc-" + msg.data.id); if (c) c.remove(); }
  }, {
    // While the socket is down, poll the REST API for the same data.
    poll: function () {
      return fetch("/api/v1/spacecraft/?limit=1000", {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (page) { page.results.forEach(place); });
    }
  });
})();
