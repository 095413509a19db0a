/* Alarm console and anomaly page: actions through the REST API, live refresh on `alarms`,
 * and a visible + audible cue for a new critical. Rules live in the services, not here. */
(function () {
  "use strict";
  const API = "/api/v1/anomalies/";

  const post = window.MissionOpsApi.postJSON;  // rejects with the API's detail as its message

  function say(text, isError) {
    const el = document.getElementById("alarm-result");
    if (el) { el.textContent = text; el.className = isError ? "error" : "muted"; }
    else if (isError) { window.alert(text); }
  }

  // --- audible and visible cue --------------------------------------------------------------
  let audio = null;
  document.addEventListener("click", function () {
    if (!audio && window.AudioContext) { audio = new AudioContext(); }  // browsers need a gesture first
  }, {once: true});

  function beep() {
    const sound = document.getElementById("alarm-sound");
    if ((sound && !sound.checked) || !audio) return;
    [0, 0.35].forEach(function (offset) {
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "square"; osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(audio.currentTime + offset); osc.stop(audio.currentTime + offset + 0.2);
    });
  }

  function cue(anomaly) {
    const banner = document.getElementById("alarm-banner");
    if (banner) {
      banner.hidden = false;
      banner.textContent = "NEW CRITICAL: " + anomaly.designation + " " + anomaly.parameter + " — " + anomaly.message;
      window.setTimeout(function () { banner.hidden = true; }, 15000);
    }
    titleCue();
    beep();
  }

  // One count in the title, however many cues overlap: "(3!) Alarms", back to the title the page
  // loaded with once 10 s pass without a new one.
  const baseTitle = document.title;
  let unseen = 0, titleTimer = null;
  function titleCue() {
    unseen += 1;
    document.title = "(" + unseen + "!) " + baseTitle;
    window.clearTimeout(titleTimer);
    titleTimer = window.setTimeout(function () { unseen = 0; document.title = baseTitle; }, 10000);
  }

  // --- the console --------------------------------------------------------------------------
  const filters = document.getElementById("alarm-filters");
  let known = null;  // ids of open criticals already shown
  let stale = false;  // the last refresh failed: the rows shown are older than the page says

  function openCriticals() {
    return new Set(Array.from(document.querySelectorAll('tr.alarm[data-severity="critical"][data-state="open"]'))
      .map(function (tr) { return tr.dataset.id; }));
  }

  function refresh() {
    if (!filters) return Promise.resolve();
    const query = new URLSearchParams(window.location.search);
    query.set("partial", "rows");
    return fetch(window.location.pathname + "?" + query.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (html) {
        const holder = document.getElementById("alarm-rows");
        // An expired session answers with the login page, a failure with an error page: neither
        // replaces the rows, which stay as last received, marked stale.
        if (html === null || html.indexOf('<div id="alarm-rows"') !== 0) {
          stale = true;
          say("could not refresh the alarms (signed out?): the rows shown may be out of date", true);
          return;
        }
        if (stale) { stale = false; say(""); }
        const picked = new Set(pickedIds());
        holder.outerHTML = html;
        document.querySelectorAll(".alarm-pick").forEach(function (box) { box.checked = picked.has(box.value); });
        const now = openCriticals();
        if (known) {
          now.forEach(function (id) {
            if (!known.has(id)) {
              const tr = document.querySelector('tr.alarm[data-id="' + id + '"]');
              if (tr) tr.classList.add("fresh");
            }
          });
        }
        known = now;
        countPicked();
      });
  }

  let pending = null;
  function refreshSoon() {
    if (pending) return;
    pending = window.setTimeout(function () { pending = null; refresh(); }, 300);
  }

  function pickedIds() {
    return Array.from(document.querySelectorAll(".alarm-pick:checked")).map(function (b) { return b.value; });
  }

  function countPicked() {
    const el = document.getElementById("alarm-picked");
    if (el) el.textContent = String(pickedIds().length);
  }

  function filterObject() {
    const data = {};
    new FormData(filters).forEach(function (value, key) {
      if (value === "") return;
      if (key === "state") { (data.state = data.state || []).push(value); } else { data[key] = value; }
    });
    return data;
  }

  function act(id, verb) {
    const body = {};
    if (verb === "shelve") {
      const minutes = window.prompt("Shelve for how many minutes?", "60");
      if (!minutes) return;
      body.duration_s = Math.round(parseFloat(minutes) * 60);
    } else if (verb === "comment") {
      const text = window.prompt("Comment");
      if (!text) return;
      body.text = text;
    } else if (verb === "assign") {
      const who = window.prompt("Assign to (username, empty to unassign)", "");
      if (who === null) return;
      body.assignee = who || null;
    } else if (verb === "tags") {
      const tags = window.prompt("Tags, comma-separated", "");
      if (tags === null) return;
      body.tags = tags.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
    }
    return post(API + id + "/" + verb + "/", body).then(function () {
      say(verb + " done");
      if (filters) refresh(); else window.location.reload();
    }).catch(function (e) { say(e.message, true); });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-act]");
    if (button) {
      const holder = button.closest("[data-id]");
      act(holder.dataset.id, button.dataset.act);
      return;
    }
    const bulk = event.target.closest("button[data-bulk]");
    if (bulk) {
      const body = {action: bulk.dataset.bulk};
      const whole = document.getElementById("alarm-whole-filter");
      if (whole && whole.checked) {
        body.filter = filterObject();
      } else {
        body.ids = pickedIds().map(Number);
        if (!body.ids.length) { say("select alarms first, or tick 'every alarm matching the filter'", true); return; }
      }
      if (body.action === "shelve") {
        const minutes = window.prompt("Shelve for how many minutes?", "60");
        if (!minutes) return;
        body.duration_s = Math.round(parseFloat(minutes) * 60);
      }
      post(API + "bulk/", body).then(function (r) {
        say(r.action + ": " + r.changed.length + " changed, " + r.skipped.length + " skipped");
        refresh();
      }).catch(function (e) { say(e.message, true); });
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "alarm-all") {
      document.querySelectorAll(".alarm-pick").forEach(function (b) { b.checked = event.target.checked; });
    }
    countPicked();
  });

  const commentForm = document.getElementById("comment-form");
  if (commentForm) {
    commentForm.addEventListener("submit", function (event) {
      event.preventDefault();
      post(API + commentForm.dataset.id + "/comment/", {text: commentForm.elements.text.value})
        .then(function () { window.location.reload(); })
        .catch(function (e) { say(e.message, true); });
    });
  }

  if (filters) {
    known = openCriticals();
    MissionOpsLive.subscribe("alarms", function (msg) {
      if (msg.kind === "anomaly.detected" || msg.kind === "anomaly.severity_raised" || msg.kind === "anomaly.escalated") {
        if (msg.data && msg.data.severity === "critical" && !msg.data.is_late) cue(msg.data);
      }
      refreshSoon();
    }, {poll: refresh});
  }

  const detail = document.getElementById("anomaly");
  if (detail) {
    MissionOpsLive.subscribe("alarms", function (msg) {
      if (msg.data && String(msg.data.id) === detail.dataset.id && msg.kind !== "anomaly.commented") {
        window.location.reload();
      }
    });
  }
})();
