// Starts the vendored Swagger UI on the generated OpenAPI document (no inline script: CSP).
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  // Keys are typed into "Authorize" for a session only; never stored by the page.
  persistAuthorization: false,
  tryItOutEnabled: false,
  layout: "BaseLayout",
});
