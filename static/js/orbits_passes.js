/* Passes page: countdown to each spacecraft's next pass, and a timeline per station with the
 * predicted passes (blue) and the latest contact plan's contacts (amber), zoomable (6 h, 24 h,
 * 72 h) and movable (earlier, now, later). Operators pick passes (click, or Enter / Space on a
 * focused bar) into the side panel, which flags picks that clash (one station, or one spacecraft,
 * twice at once) and posts the pass ids to make a contact plan; the server checks them again.
 * Live: `passes`. */
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
  const ROW_PX = 16, MAX_ROWS = 6;
  function rows(passes) {
    // Pass id -> its row in the station's lane: passes overlapping in time go on separate rows.
    const row = {}, ends = {};
    passes.slice().sort(function (a, b) { return Date.parse(a.aos) - Date.parse(b.aos); }).forEach(function (p) {
      const lane = ends[p.station] || (ends[p.station] = []), aos = Date.parse(p.aos);
      let i = lane.findIndex(function (end) { return end <= aos; });
      if (i < 0) i = lane.length < MAX_ROWS ? lane.length : lane.indexOf(Math.min.apply(null, lane));
      lane[i] = Date.parse(p.los);
      row[p.id] = i;
    });
    return {row: row, count: function (station) { return (ends[station] || []).length || 1; }};
  }
  function bar(lane, cls, from, to, label, tag) {
    const left = Math.max(0, (from - start) / SPAN_MS), right = Math.min(1, (to - start) / SPAN_MS);
    if (right <= 0 || left >= 1) return null;
    const div = document.createElement(tag || "div");
    div.className = cls;
    div.style.left = (left * 100) + "%";
    div.style.width = Math.max(0.15, (right - left) * 100) + "%";
    // Shorter bars above longer ones: a continuous (GEO) pass across the lane never hides the rest.
    div.style.zIndex = String(1 + Math.round((1 - (right - left)) * 1000));
    div.title = label + " " + new Date(from).toISOString().substring(11, 19) + "–" + new Date(to).toISOString().substring(11, 19);
    div.textContent = label;
    lane.appendChild(div);
    return div;
  }
  function draw(passes, contacts) {
    document.querySelectorAll(".tl-lane").forEach(function (lane) {
      lane.innerHTML = '<div class="tl-now"></div>';
    });
    const layout = rows(passes);
    document.querySelectorAll(".tl-lane").forEach(function (lane) {
      lane.style.height = (layout.count(lane.dataset.station) * ROW_PX + 18) + "px";
    });
    passes.forEach(function (p) {
      const lane = document.querySelector('.tl-lane[data-station="' + p.station + '"]');
      const el = lane && bar(lane, "tl-pass", Date.parse(p.aos), Date.parse(p.los), p.designation, PICKABLE ? "button" : "div");
      if (el) el.style.top = (2 + layout.row[p.id] * ROW_PX) + "px";
      if (el && PICKABLE) pickable(el, p);
    });
    contacts.forEach(function (c) {
      const lane = document.querySelector('.tl-lane[data-station="' + c.station + '"]');
      const el = lane && bar(lane, "tl-contact", Date.parse(c.start), Date.parse(c.end), c.designation);
      if (el) el.style.top = (2 + layout.count(c.station) * ROW_PX) + "px";
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
    showPicks();
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
  /* Picking passes for a contact plan (operators: the timeline carries data-pickable). */
  const PICKABLE = document.getElementById("timeline").dataset.pickable === "true";
  const picked = new Map();  // pass id -> the pass as the REST API gives it ({id, missing} if gone)
  function utc(iso) { return MissionOpsTime.utc(iso); }
  function describe(p) {
    return p.designation + " over " + p.station_name + ", AOS " + utc(p.aos) + ", LOS " + utc(p.los) +
      ", max. elevation " + Number(p.max_elevation_deg).toFixed(1) + "°";
  }
  function pickable(el, p) {
    el.type = "button";
    el.dataset.pass = p.id;
    el.setAttribute("aria-label", describe(p));
    el.setAttribute("aria-pressed", String(picked.has(p.id)));
    el.addEventListener("click", function () { toggle(p); });  // a button: Enter and Space click it
  }
  function toggle(p) {
    if (picked.has(p.id)) picked.delete(p.id); else picked.set(p.id, p);
    showPicks();
  }
  function clashes() {
    // Pass id -> the picks it overlaps on its station, or for its spacecraft (touching is fine).
    const found = new Map(), list = Array.from(picked.values()).filter(function (p) { return !p.missing; });
    list.forEach(function (a) {
      list.forEach(function (b) {
        if (a.id === b.id || !(Date.parse(a.aos) < Date.parse(b.los) && Date.parse(b.aos) < Date.parse(a.los))) return;
        let why = "";
        if (a.station === b.station) why = "overlaps " + b.designation + " on " + b.station_name;
        else if (a.spacecraft === b.spacecraft) why = "overlaps its pass over " + b.station_name + " (one spacecraft, two stations at once)";
        if (why) { if (!found.has(a.id)) found.set(a.id, []); found.get(a.id).push(why + " (" + utc(b.aos) + " – " + utc(b.los) + ")"); }
      });
    });
    return found;
  }
  function showPicks() {
    const list = document.getElementById("pick-list");
    if (!PICKABLE || !list) return;
    const conflicts = clashes(), form = document.getElementById("pick-form");
    list.innerHTML = "";
    form.querySelectorAll('input[name="passes"]').forEach(function (input) { input.remove(); });
    Array.from(picked.values()).sort(function (a, b) { return (a.aos || "").localeCompare(b.aos || ""); }).forEach(function (p) {
      const li = document.createElement("li"), text = document.createElement("span");
      li.dataset.pass = p.id;
      text.textContent = p.missing ? "pass " + p.id + " (no longer stored: recomputed or deleted)" : p.designation + " · " + p.station_name;
      li.appendChild(text);
      if (!p.missing) {
        const times = document.createElement("span");
        times.className = "pick-times";
        times.textContent = "AOS " + utc(p.aos) + " · LOS " + utc(p.los) + " · max. el. " + Number(p.max_elevation_deg).toFixed(1) + "°";
        li.appendChild(times);
      }
      (conflicts.get(p.id) || []).forEach(function (why) {
        const warn = document.createElement("span");
        warn.className = "pick-conflict";
        warn.textContent = "⚠ " + why;
        li.appendChild(warn);
      });
      if (p.missing) li.classList.add("pick-missing");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "pick-remove";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + (p.missing ? "pass " + p.id : describe(p)));
      remove.addEventListener("click", function () { picked.delete(p.id); showPicks(); });
      li.appendChild(remove);
      list.appendChild(li);
      const input = document.createElement("input");
      input.type = "hidden"; input.name = "passes"; input.value = p.id;
      form.appendChild(input);
    });
    document.querySelectorAll(".tl-pass[data-pass]").forEach(function (el) {
      const id = Number(el.dataset.pass);
      el.setAttribute("aria-pressed", String(picked.has(id)));
      el.classList.toggle("tl-conflict", conflicts.has(id));
    });
    document.getElementById("pick-empty").hidden = picked.size > 0;
    document.getElementById("pick-conflicts").textContent = conflicts.size
      ? conflicts.size + " picked passes clash: remove one of each pair to create the plan." : "";
    document.getElementById("create-plan").disabled = picked.size === 0 || conflicts.size > 0;
    document.getElementById("pick-clear").disabled = picked.size === 0;
  }
  if (PICKABLE) {
    document.getElementById("pick-clear").addEventListener("click", function () { picked.clear(); showPicks(); });
    // After a refused plan the server sends the passes posted back: they stay picked.
    JSON.parse(document.getElementById("picked-passes").textContent).forEach(function (p) { picked.set(p.id, p); });
    showPicks();
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
