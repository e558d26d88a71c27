// Copy buttons (new PINs, tokens); no inline script so the CSP can forbid it.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () { button.textContent = "Copied"; };
  var fallback = function () {
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    document.body.removeChild(area);
    done();
  };
  if (navigator.clipboard && window.isSecureContext) {
    // The clipboard API can refuse (no permission, page not focused): copy the old way then.
    navigator.clipboard.writeText(text).then(done, fallback);
  } else {
    fallback();
  }
});
