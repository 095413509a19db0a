/* MissionOps live socket: ONE connection to /ws/live/, topics multiplexed over it.
 *
 * MissionOpsLive.subscribe(topic, onMessage, {poll}) registers a handler. While the socket is
 * down the page keeps working: every subscription's `poll` (a REST fetch) runs every few seconds
 * until the socket is back. Reconnects back off exponentially (1 s to 30 s, with jitter).
 * The connection state is shown in #live-status: live / reconnecting / polling / refused.
 */
(function () {
  "use strict";
  const POLL_INTERVAL_MS = 5000;
  const subscriptions = {};  // topic -> {handlers: [], poll: fn|null}
  let socket = null, attempt = 0, pollTimer = null, reconnectTimer = null;

  function setState(state, text) {
    const el = document.getElementById("live-status");
    if (el) { el.dataset.state = state; el.textContent = text || state; }
    document.dispatchEvent(new CustomEvent("missionops:live-state", {detail: state}));
  }

  function url() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/ws/live/";
  }

  function sendSubscriptions() {
    const topics = Object.keys(subscriptions);
    if (socket && socket.readyState === WebSocket.OPEN && topics.length) {
      socket.send(JSON.stringify({action: "subscribe", topics: topics}));
    }
  }

  function startPolling() {
    if (pollTimer) return;
    const run = function () {
      Object.values(subscriptions).forEach(function (s) {
        if (s.poll) { Promise.resolve().then(s.poll).catch(function () {}); }
      });
    };
    run();
    pollTimer = window.setInterval(run, POLL_INTERVAL_MS);
  }

  function stopPolling() {
    if (pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
  }

  function connect() {
    reconnectTimer = null;
    setState(attempt ? "reconnecting" : "connecting", attempt ? "reconnecting…" : "connecting…");
    try { socket = new WebSocket(url()); } catch (e) { scheduleReconnect(); return; }
    socket.onopen = function () {
      attempt = 0;
      stopPolling();
      setState("live", "live");
      sendSubscriptions();
      // Catch up on what changed while we were away.
      Object.values(subscriptions).forEach(function (s) { if (s.poll) Promise.resolve().then(s.poll).catch(function () {}); });
    };
    socket.onmessage = function (event) {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "message" && subscriptions[msg.topic]) {
        subscriptions[msg.topic].handlers.forEach(function (h) { h(msg.data, msg.topic); });
      } else if (msg.type === "refused") {
        console.warn("live topic refused", msg.topic, msg.reason);
      }
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4401) { setState("refused", "not signed in"); return; }
      scheduleReconnect();
    };
    socket.onerror = function () { /* onclose follows and schedules the retry */ };
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    attempt += 1;
    startPolling();
    const delay = Math.min(30000, 1000 * Math.pow(2, attempt - 1)) * (0.75 + Math.random() * 0.5);
    setState("polling", "offline · polling, retry in " + Math.round(delay / 1000) + " s");
    reconnectTimer = window.setTimeout(connect, delay);
  }

  window.MissionOpsLive = {
    subscribe: function (topic, handler, options) {
      const entry = subscriptions[topic] || (subscriptions[topic] = {handlers: [], poll: null});
      entry.handlers.push(handler);
      if (options && options.poll) entry.poll = options.poll;
      sendSubscriptions();
    },
    state: function () { return document.getElementById("live-status")?.dataset.state; },
  };

  if ("WebSocket" in window) { connect(); } else { startPolling(); setState("polling", "polling"); }
})();
