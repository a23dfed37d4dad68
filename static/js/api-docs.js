// Swagger UI over the API's own OpenAPI document. This file, not an inline <script>,
// starts it: pages are meant to run under a Content-Security-Policy without inline code.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // The default sends the document to validator.swagger.io for a badge: nothing leaves.
    validatorUrl: null,
    // A key typed into "Authorize" is kept only for this page, never in localStorage.
    persistAuthorization: false,
  });
});
