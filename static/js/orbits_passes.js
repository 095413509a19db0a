/* Passes page: countdown to each spacecraft's next pass, and a timeline per station with the
 * predicted passes (blue) and the latest contact plan's contacts (amber), zoomable (6 h, 24 h,
 * 72 h) and movable (earlier, now, later). Live: `passes`. */
(function () {
  "use strict";
  const HOUR = 3600 * 1000;
  const TICK_H = {6: 1, 24: 3, 72: 12};  // hours between axis labels per span
  let SPAN_MS = 24 * HOUR, offset = 0;  // offset: how far the view is moved from "an hour ago"
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
    const hours = SPAN_MS / HOUR, step = TICK_H[hours] || 3;
    for (let h = 0; h <= hours; h += step) {
      const span = document.createElement("span");
      span.style.left = (h / hours * 100) + "%";
      const at = new Date(start + h * HOUR).toISOString();
      span.textContent = hours > 24 ? at.substring(5, 10) + " " + at.substring(11, 16) : at.substring(11, 16);
      ticks.appendChild(span);
    }
    tick();
  }
  function showRange() {
    const label = document.getElementById("tl-range");
    if (label) label.textContent = new Date(start).toISOString().substring(0, 16).replace("T", " ") + " – " + new Date(start + SPAN_MS).toISOString().substring(0, 16).replace("T", " ") + " UTC";
  }
  function load() {
    start = Date.now() - HOUR + offset;
    showRange();
    const end = new Date(start + SPAN_MS).toISOString(), from = new Date(start).toISOString();
    const planId = document.getElementById("timeline").dataset.plan;
    const passes = fetch("/api/v1/passes/?limit=1000&start=" + encodeURIComponent(from) + "&end=" + encodeURIComponent(end), {credentials: "same-origin"})
      .then(function (r) { return r.json(); }).then(function (page) { return page.results || []; });
    const contacts = planId ? fetch("/api/v1/contact-plans/" + planId + "/", {credentials: "same-origin"})
      .then(function (r) { return r.json(); }).then(function (plan) { return plan.contacts || []; }) : Promise.resolve([]);
    return Promise.all([passes, contacts]).then(function (both) { draw(both[0], both[1]); });
  }
  document.querySelectorAll("#tl-zoom button[data-span]").forEach(function (button) {
    button.addEventListener("click", function () {
      SPAN_MS = Number(button.dataset.span) * HOUR;
      document.querySelectorAll("#tl-zoom button[data-span]").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      load();
    });
  });
  document.querySelectorAll("#tl-zoom button[data-move]").forEach(function (button) {
    button.addEventListener("click", function () {
      const move = Number(button.dataset.move);
      offset = move === 0 ? 0 : offset + move * SPAN_MS / 2;
      load();
    });
  });
  load();
  window.setInterval(tick, 1000);
  MissionOpsLive.subscribe("passes", function (msg) {
    if (msg.kind === "recomputed" || msg.kind === "plan") load();
    if (msg.kind === "pass.started" || msg.kind === "pass.ended") tick();
  }, {poll: load});
})();
