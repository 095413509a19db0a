/* Telescopes page: live device status and operations on the `telescopes` topic (REST polling while
 * the socket is down), and the slew / park / abort / expose controls, which call the REST API. */
(function () {
  "use strict";
  const message = document.getElementById("telescopes-message");

  function say(text) { if (message) message.textContent = text; }

  function post(url, body) {
    return window.MissionOpsApi.postJSON(url, body)
      .then(function (op) { if (message) message.dataset.op = op.id; sayOperation(op); showOperation(op); })
      .catch(function (err) { say("refused: " + err.message); });
  }

  // The message about the operation just asked for follows it to its end, then goes away: an
  // "operation 4 (expose) pending" line never outlives the operation.
  const FINISHED = ["succeeded", "failed", "cancelled", "timed_out"];
  let clearTimer = null;
  function sayOperation(op) {
    if (!message || String(message.dataset.op) !== String(op.id)) return;
    say("operation " + op.id + " (" + op.kind + ") " + op.status + (op.error ? ": " + op.error : ""));
    window.clearTimeout(clearTimer);
    if (FINISHED.indexOf(op.status) >= 0) {
      clearTimer = window.setTimeout(function () { say(""); delete message.dataset.op; }, op.status === "succeeded" ? 5000 : 15000);
    }
  }

  function showDevice(d) {
    const row = document.getElementById("device-" + d.id);
    if (!row) return;
    row.querySelector('[data-field="light"]').className = "light light-" + String(d.health_status).toLowerCase();
    row.querySelector('[data-field="health"]').textContent = d.health_status + " " + (d.health_detail || "");
    row.querySelector('[data-field="status"]').textContent = d.status_text || "—";
    if (d.last_checked_at) row.querySelector('[data-field="checked"]').textContent = window.MissionOpsTime.utc(d.last_checked_at);
    const pointing = document.querySelector('[data-pointing="' + d.id + '"]');
    const s = d.status || {};
    if (pointing && s.altitude !== undefined) {
      pointing.textContent = "Alt " + Number(s.altitude).toFixed(2) + "° Az " + Number(s.azimuth).toFixed(2) + "° · RA " + Number(s.rightascension).toFixed(4) + "h Dec " + Number(s.declination).toFixed(3) + "°";
    }
  }

  function showOperation(op) {
    let row = document.getElementById("op-" + op.id);
    const table = document.querySelector(".operations tbody");
    if (!row && table) {
      row = document.createElement("tr");
      row.id = "op-" + op.id;
      const empty = table.querySelector(".empty");
      if (empty) empty.remove();
      table.prepend(row);
    }
    if (!row) return;
    const text = op.error || (op.result && op.result.pointing ? "Alt " + op.result.pointing.altitude_deg + "° Az " + op.result.pointing.azimuth_deg + "°" : "");
    row.innerHTML = "";
    [op.id, op.device, op.kind, op.status, text, window.MissionOpsTime.utc(op.created_at)].forEach(function (value, i) {
      const td = document.createElement("td");
      td.textContent = value === undefined || value === null ? "" : value;
      if (i === 3) td.className = "op-" + op.status;
      row.appendChild(td);
    });
  }

  function showExposure(e) {
    const box = document.getElementById("last-exposure");
    if (!box) return;
    box.innerHTML = "";
    const link = document.createElement("a");
    link.href = e.fits_url;
    const img = document.createElement("img");
    img.src = e.preview_url;
    img.width = 256;
    img.alt = "exposure " + e.id;
    link.appendChild(img);
    box.appendChild(link);
  }

  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () { post(button.dataset.action); });
  });
  document.querySelectorAll(".slew-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const body = {};
      ["ra_hours", "dec_deg", "altitude_deg", "azimuth_deg"].forEach(function (name) {
        const value = form.elements[name].value;
        if (value !== "") body[name] = Number(value);
      });
      post("/api/v1/telescopes/" + form.dataset.telescope + "/slew/", body);
    });
  });
  document.querySelectorAll(".expose-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      post("/api/v1/cameras/" + form.dataset.camera + "/expose/", {
        duration_s: Number(form.elements.duration_s.value),
        light: form.elements.light.checked,
        binning: Number(form.elements.binning.value),
      });
    });
  });

  // Each message carries the object's REST representation (device, operation, exposure, session).
  MissionOpsLive.subscribe("telescopes", function (msg) {
    const d = msg.data;
    if (msg.kind === "device") showDevice(d);
    if (msg.kind === "operation") { showOperation(d); sayOperation(d); }
    if (msg.kind === "exposure") showExposure(d);
    if (msg.kind === "session") {
      const row = document.getElementById("session-" + d.id);
      if (row) {
        row.querySelector('[data-field="status"]').textContent = d.status;
        row.querySelector('[data-field="samples"]').textContent = d.pointing.length;
        if (d.max_pointing_error_deg !== null) row.querySelector('[data-field="error"]').textContent = Number(d.max_pointing_error_deg).toFixed(3) + "°";
      }
    }
  }, {
    poll: function () {
      return Promise.all([
        fetch("/api/v1/alpaca-devices/?limit=500", {credentials: "same-origin"}).then(function (r) { return r.json(); })
          .then(function (page) { (page.results || page).forEach(showDevice); }),
        fetch("/api/v1/telescope-operations/?limit=20", {credentials: "same-origin"}).then(function (r) { return r.json(); })
          .then(function (page) { (page.results || page).slice().reverse().forEach(showOperation); }),
      ]);
    }
  });
})();
