/* Chart and map colours come from the CSS variables in app.css (one palette, themable there). */
(function () {
  "use strict";
  const cache = {};
  function colour(name) {
    if (!(name in cache)) cache[name] = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return cache[name];
  }
  window.MissionOpsTheme = {colour: colour};
})();
