/* drf_spectacular/redoc.html: moved out of the template (no inline script under the CSP). */
      Redoc.init(document.currentScript.dataset.schemaUrl, JSON.parse(JSON.parse(document.getElementById("redoc-settings").textContent) || "{}"), document.getElementById("redoc-container"));
