/* spacecraft/detail.html: moved out of the template (no inline script under the CSP). */
(function () {
  const id = document.currentScript.dataset.spacecraft;
  function show(sc) {
    ["designation", "name"].forEach(function (f) {
      if (sc[f] !== undefined) document.querySelector('h1 [data-field="' + f + '"]').textContent = sc[f];
    });
    document.querySelectorAll('[data-field="mode"]').forEach(function (el) { el.textContent = sc.mode; });
    const badge = document.getElementById("sc-mode");
    badge.textContent = sc.mode; badge.className = "mode-badge mode-" + sc.mode;
    ["battery_soc_pct", "memory_used_pct"].forEach(function (f) {
      document.querySelector('[data-field="' + f + '"]').textContent = Number(sc[f]).toFixed(1);
      document.querySelector('[data-meter="' + f + '"]').value = sc[f];
    });
    document.querySelector('[data-field="updated_at"]').textContent = String(sc.updated_at).slice(0, 19).replace("T", " ") + "Z";
  }
  // The result as the page draws it: a key/value table, never JSON.
  function showOutcome(cell, command) {
    cell.textContent = "";
    const result = command.result || {};
    if (command.failure_reason || !Object.keys(result).length) { cell.textContent = command.failure_reason || "—"; return; }
    const table = document.createElement("table"); table.className = "kv";
    Object.entries(result).forEach(function (entry) {
      const tr = table.insertRow(), th = document.createElement("th"), td = tr.insertCell();
      th.scope = "row"; th.textContent = entry[0]; tr.prepend(th);
      td.textContent = typeof entry[1] === "object" && entry[1] !== null ? JSON.stringify(entry[1]) : String(entry[1]);
    });
    cell.appendChild(table);
  }
  // Live messages carry the REST representations: `state` the spacecraft, `command` the command.
  MissionOpsLive.subscribe("sc." + id, function (msg) {
    if (msg.kind === "state") show(msg.data);
    if (msg.kind === "config") window.location.reload();
    if (msg.kind === "command") {
      const c = msg.data;
      const row = document.querySelector('tr[data-command="' + c.id + '"]');
      if (!row) { window.location.reload(); return; }
      const state = row.querySelector(".state");
      state.querySelector(".state-text").textContent = c.state + (c.awaiting_approval ? " · awaiting approval" : ""); state.dataset.state = c.state;
      state.querySelector(".when").textContent = c.waits_for ? "waits for " + c.waits_for.station + ", AOS " + c.waits_for.aos.slice(0, 19).replace("T", " ") + "Z" : "";
      if (c.finished_at) row.querySelector(".finished").textContent = c.finished_at.slice(0, 19).replace("T", " ") + "Z";
      if (c.approved_by) row.querySelector(".approved-by").textContent = c.approved_by;
      // A command never goes back to awaiting approval or to a cancelable state: buttons only go.
      const approve = row.querySelector('form[data-action="approve"]');
      if (approve && !c.awaiting_approval) approve.remove();
      const cancel = row.querySelector('form[data-action="cancel"]');
      if (cancel && !c.can_cancel) cancel.remove();  // the server says (Command.can_cancel)
      showOutcome(row.querySelector(".outcome"), c);
    }
  }, {
    poll: function () {
      return fetch("/api/v1/spacecraft/" + id + "/", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(show);
    }
  });
})();
