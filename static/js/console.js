/* Every page: the one timestamp format, the UTC clock in the header and the navigation menu that
   collapses on a phone. */
window.MissionOpsTime = {
  // An ISO time (socket message or REST) as every page prints it: "2026-12-04 22:19:08Z"; "—" for none.
  utc: function (iso) {
    const when = iso ? new Date(iso) : null;
    return when && !isNaN(when) ? when.toISOString().slice(0, 19).replace("T", " ") + "Z" : "—";
  },
};
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
/* Wide tables scroll inside their own box (a phone, a narrow window) instead of widening the page;
   the box takes keyboard focus so it can be scrolled without a mouse. */
(function () {
  document.querySelectorAll("main table").forEach(function (table) {
    if (table.classList.contains("kv") || table.parentElement.closest(".table-wrap, .table-scroll, table")) return;
    const box = document.createElement("div");
    box.className = "table-scroll";
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
  });
  document.querySelectorAll(".table-wrap, .table-scroll").forEach(function (box) {
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    const caption = box.querySelector("caption") || box.closest("section")?.querySelector("h2");
    box.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table");
  });
})();
/* Bars and marks sized by data (data-pct-width="40", also -left, -height, -bottom: percent) are
   sized here, so templates carry no inline style attribute. */
(function () {
  const sides = ["left", "width", "height", "bottom"];
  document.querySelectorAll("[data-pct-left], [data-pct-width], [data-pct-height], [data-pct-bottom]").forEach(function (el) {
    sides.forEach(function (side) {
      const value = el.getAttribute("data-pct-" + side);
      if (value !== null && value !== "" && isFinite(Number(value))) el.style[side] = Number(value) + "%";
    });
  });
})();
