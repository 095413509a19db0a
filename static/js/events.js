/* missionops/events.html: moved out of the template (no inline script under the CSP). */
(function () {
  const rows = document.getElementById("event-rows");
  const params = new URLSearchParams(window.location.search);
  const kind = params.get("kind") || "", spacecraft = params.get("spacecraft") || "";
  // Live rows only on the first page of the newest-first order of an open time range.
  if (params.get("until") || (params.get("page") || "1") !== "1" || (params.get("sort") || "-time") !== "-time") return;
  function matches(e) {
    if (kind && !(kind.endsWith(".") ? e.kind.startsWith(kind) : e.kind === kind)) return false;
    if (spacecraft && e.spacecraft !== spacecraft) return false;
    return true;
  }
  function cell(text, code, href) {
    const td = document.createElement("td");
    const inner = document.createElement(code ? "code" : href ? "a" : "span");
    inner.textContent = text; if (href) inner.href = href;
    td.appendChild(inner); return td;
  }
  function details(payload) {
    const td = document.createElement("td");
    if (!payload || !Object.keys(payload).length) { td.textContent = "—"; return td; }
    const box = document.createElement("details"); box.className = "payload";
    const summary = document.createElement("summary"); summary.textContent = "Details"; box.appendChild(summary);
    const pre = document.createElement("pre"); pre.textContent = JSON.stringify(payload, null, 2); box.appendChild(pre);
    td.appendChild(box); return td;
  }
  MissionOpsLive.subscribe("events", function (msg) {
    const e = msg.data;  // the event as /api/v1/events/ shows it
    if (!matches(e)) return;
    const tr = document.createElement("tr");
    const link = e.spacecraft ? "/spacecraft/" + e.spacecraft + "/" : "";
    [cell(e.created_at.replace("T", " ").slice(0, 19) + "Z"), cell(e.kind, true), cell(e.summary || ""),
     cell(e.subject || "—", false, link), cell(e.actor), details(e.payload)].forEach(function (td) { tr.appendChild(td); });
    rows.prepend(tr);
  });
})();
