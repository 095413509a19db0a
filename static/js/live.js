/* MissionOps live socket: ONE connection to /ws/live/, topics multiplexed over it.
 *
 * MissionOpsLive.subscribe(topic, onMessage, {poll}) registers a handler. While the socket is
 * down the page keeps working: every subscription's `poll` (a REST fetch) runs every few seconds
 * until the socket is back. Reconnects back off exponentially (1 s to 30 s, with jitter).
 * The connection state is shown in #live-status: connecting / live (every topic subscribed) /
 * reconnecting / polling / refused.
 */
(function () {
  "use strict";
  const POLL_INTERVAL_MS = 5000;
  const subscriptions = {};  // topic -> {handlers: [], poll: fn|null, held: messages|null}
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

  // Topics asked for on this socket and not yet answered. The page is "live" only once every one
  // is answered: a change made between the socket's open and the server joining its group would
  // otherwise be lost, and the catch-up fetch runs per topic only after that join for the same reason.
  let awaiting = new Set();

  function sendSubscriptions(topics) {
    if (socket && socket.readyState === WebSocket.OPEN && topics.length) {
      topics.forEach(function (t) { awaiting.add(t); });
      socket.send(JSON.stringify({action: "subscribe", topics: topics}));
    }
  }

  function answered(topic, subscribed) {
    if (!awaiting.delete(topic)) return;
    const s = subscriptions[topic];
    // Catch up on what changed while we were away (or before the page subscribed).
    if (subscribed && s && s.poll) catchUp(topic, s);
    if (!awaiting.size) setState("live", "live");
  }

  function deliver(topic, data) {
    subscriptions[topic].handlers.forEach(function (h) { h(data, topic); });
  }

  // While a topic's catch-up fetch is in flight, its messages are held and delivered after the
  // fetch's answer, in order and once: the fetch may have read the state before a change whose
  // message arrives first, and applied after that message it would put the older state back
  // (for good, when the change was the last one, as a job that failed). Held at most HOLD_MS.
  const HOLD_MS = 5000;
  function catchUp(topic, s) {
    const held = s.held = [];
    let released = false;
    function release() {
      if (released) return;
      released = true;
      if (s.held === held) s.held = null;
      held.forEach(function (data) { deliver(topic, data); });
    }
    window.setTimeout(release, HOLD_MS);
    Promise.resolve().then(s.poll).catch(function () {}).then(release);
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
      awaiting = new Set();
      const topics = Object.keys(subscriptions);
      if (!topics.length) { setState("live", "live"); return; }
      setState("connecting", "subscribing…");
      sendSubscriptions(topics);
    };
    socket.onmessage = function (event) {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "message" && subscriptions[msg.topic]) {
        const held = subscriptions[msg.topic].held;
        if (held) held.push(msg.data); else deliver(msg.topic, msg.data);
      } else if (msg.type === "subscribed") {
        answered(msg.topic, true);
      } else if (msg.type === "refused") {
        console.warn("live topic refused", msg.topic, msg.reason);
        answered(msg.topic, false);
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
      const entry = subscriptions[topic] || (subscriptions[topic] = {handlers: [], poll: null, held: null});
      const isNew = !entry.handlers.length;
      entry.handlers.push(handler);
      if (options && options.poll) entry.poll = options.poll;
      if (isNew && !awaiting.has(topic)) sendSubscriptions([topic]);
    },
    state: function () { return document.getElementById("live-status")?.dataset.state; },
  };

  if ("WebSocket" in window) { connect(); } else { startPolling(); setState("polling", "polling"); }
})();
