// The report's Print button: the browser's print dialog (Save as PDF), using the print stylesheet.
(function () {
  "use strict";
  var button = document.getElementById("print-report");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
