// Starts Swagger UI on /api/v1/docs. A file rather than an inline script: the platform's
// Content-Security-Policy allows scripts from this site only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var csrfToken = null;

  // A logged-in browser session sends its CSRF token with "Try it out" writes that carry no
  // JSON body (DELETE, uploads), exactly as the platform's own pages do.
  fetch(root.dataset.meUrl, { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (me) { csrfToken = me && me.csrf_token; })
    .catch(function () { csrfToken = null; });

  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    requestInterceptor: function (request) {
      if (csrfToken) {
        request.headers["X-CSRF-Token"] = csrfToken;
      }
      return request;
    },
  });
})();
