/* Passes page: countdown to each spacecraft's next pass, and a 24 h timeline per station with
 * the predicted passes (blue) and the latest contact plan's contacts (green). Live: `passes`. */
(function () {
  "use strict";
  const SPAN_MS = 24 * 3600 * 1000;
  let start = Date.now();

  function fmt(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + "h " : "") + String(m).padStart(2, "0") + "m " + String(r).padStart(2, "0") + "s";
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll("#next-passes tbody tr").forEach(function (row) {
      const aos = Date.parse(row.dataset.aos), los = Date.parse(row.dataset.los);
      const cell = row.querySelector(".countdown");
      if (now < aos) cell.textContent = "AOS in " + fmt(aos - now);
      else if (now < los) cell.textContent = "in pass · LOS in " + fmt(los - now);
      else cell.textContent = "ended";
    });
    const nowLine = document.querySelectorAll(".tl-now");
    nowLine.forEach(function (n) { n.style.left = ((now - start) / SPAN_MS * 100) + "%"; });
  }
  function bar(lane, cls, from, to, label) {
    const left = Math.max(0, (from - start) / SPAN_MS), right = Math.min(1, (to - start) / SPAN_MS);
    if (right <= 0 || left >= 1) return;
    const div = document.createElement("div");
    div.className = cls;
    div.style.left = (left * 100) + "%";
    div.style.width = Math.max(0.15, (right - left) * 100) + "%";
    div.title = label + " " + new Date(from).toISOString().substring(11, 19) + "–" + new Date(to).toISOString().substring(11, 19);
    div.textContent = label;
    lane.appendChild(div);
  }
  function draw(passes, contacts) {
    document.querySelectorAll(".tl-lane").forEach(function (lane) {
      lane.innerHTML = '<div class="tl-now"></div>';
    });
    passes.forEach(function (p) {
      const lane = document.querySelector('.tl-lane[data-station="' + p.station + '"]');
      if (lane) bar(lane, "tl-pass", Date.parse(p.aos), Date.parse(p.los), p.designation);
    });
    contacts.forEach(function (c) {
      const lane = document.querySelector('.tl-lane[data-station="' + c.station + '"]');
      if (lane) bar(lane, "tl-contact", Date.parse(c.start), Date.parse(c.end), c.designation);
    });
    const ticks = document.getElementById("tl-ticks");
    ticks.innerHTML = "";
    for (let h = 0; h <= 24; h += 3) {
      const span = document.createElement("span");
      span.style.left = (h / 24 * 100) + "%";
      span.textContent = new Date(start + h * 3600000).toISOString().substring(11, 16);
      ticks.appendChild(span);
    }
    tick();
  }
  function load() {
    start = Date.now() - 3600 * 1000;
    const end = new Date(start + SPAN_MS).toISOString(), from = new Date(start).toISOString();
    const planId = document.getElementById("timeline").dataset.plan;
    const passes = fetch("/api/v1/passes/?limit=1000&start=" + encodeURIComponent(from) + "&end=" + encodeURIComponent(end), {credentials: "same-origin"})
      .then(function (r) { return r.json(); }).then(function (page) { return page.results || []; });
    const contacts = planId ? fetch("/api/v1/contact-plans/" + planId + "/", {credentials: "same-origin"})
      .then(function (r) { return r.json(); }).then(function (plan) { return plan.contacts || []; }) : Promise.resolve([]);
    return Promise.all([passes, contacts]).then(function (both) { draw(both[0], both[1]); });
  }
  load();
  window.setInterval(tick, 1000);
  MissionOpsLive.subscribe("passes", function (msg) {
    if (msg.kind === "recomputed" || msg.kind === "plan") load();
    if (msg.kind === "pass.started" || msg.kind === "pass.ended") tick();
  }, {poll: load});
})();
