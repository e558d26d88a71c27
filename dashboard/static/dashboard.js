// Every page: confirmations, the phone menu, table labels for stacked rows, the browser's zone.
// A file, not inline script, so the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  // A form with data-confirm asks first; Cancel sends nothing.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // The menu button (shown on narrow screens) opens and closes the navigation.
  var toggle = document.getElementById("menu-toggle");
  var nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.hidden = false;
    document.documentElement.classList.add("js-menu");
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }

  // On a phone, table rows stack; each cell is labelled with its column's heading.
  document.querySelectorAll("table.data").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (heads[index] && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
          cell.setAttribute("data-label", heads[index]);
        }
      });
    });
  });

  // Forms with a time_zone field get the browser's zone (sign-in sets a user's default).
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
    if (!input.value) input.value = zone;
  });
})();
