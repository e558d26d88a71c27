// The API documentation page: Swagger UI (vendored from npm) reading our own OpenAPI document.
(function () {
  "use strict";
  var holder = document.getElementById("swagger-ui");
  if (!holder || typeof window.SwaggerUIBundle !== "function") return;
  var nothing = function () { return function () { return null; }; };
  window.SwaggerUIBundle({
    url: holder.getAttribute("data-spec"),
    domNode: holder,
    // A deep link inside the clickable summary would be a control nested in a control.
    deepLinking: false,
    // Reading, not a console: requests are made with a token from a script or curl.
    supportedSubmitMethods: [],
    defaultModelsExpandDepth: 0,
    validatorUrl: null,
    // Buttons nested inside each operation's (clickable) summary trap keyboard users and
    // screen readers; the path is selectable text and the token is explained above.
    plugins: [function () {
      return { wrapComponents: { CopyToClipboardBtn: nothing, authorizeOperationBtn: nothing } };
    }]
  });
  // Swagger UI leaves its server picker unlabelled; name it once it is drawn.
  new MutationObserver(function () {
    var servers = document.getElementById("servers");
    if (servers && !servers.hasAttribute("aria-label")) servers.setAttribute("aria-label", "Server");
  }).observe(holder, { childList: true, subtree: true });
})();
