// The API documentation page: Swagger UI (vendored from npm) reading our own OpenAPI document.
(function () {
  "use strict";
  var holder = document.getElementById("swagger-ui");
  if (!holder || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: holder.getAttribute("data-spec"),
    domNode: holder,
    deepLinking: true,
    // Reading, not a console: requests are made with a token from a script or curl.
    supportedSubmitMethods: [],
    defaultModelsExpandDepth: 0,
    validatorUrl: null
  });
})();
