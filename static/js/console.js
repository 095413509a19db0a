/* Every page: the UTC clock in the header and the navigation menu that collapses on a phone. */
(function () {
  const clock = document.getElementById("utc-clock");
  if (clock) {
    const tick = function () {
      const now = new Date();
      clock.textContent = now.toISOString().slice(11, 19) + "Z";
      clock.setAttribute("datetime", now.toISOString());
    };
    tick();
    window.setInterval(tick, 1000);
  }
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("areas");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }
})();
