/* The one way pages call the REST API: the CSRF token, JSON in and out, and one error contract.
 * A refused call rejects with an ApiError whose message is the API's `detail` ("<field>: <message>"),
 * with `status`, `field` (when the API names one) and the whole answer in `data`. */
(function () {
  "use strict";

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) return input.value;
    const cookie = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return cookie ? decodeURIComponent(cookie[1]) : "";
  }

  class ApiError extends Error {
    constructor(status, data) {
      const text = (data && (data.detail || (data.errors && JSON.stringify(data.errors)))) || JSON.stringify(data || {});
      super(text && text !== "{}" ? text : "HTTP " + status);
      this.name = "ApiError";
      this.status = status;
      this.field = data && data.field;
      this.data = data || {};
    }
  }

  function answer(response) {
    if (response.status === 204) return Promise.resolve(null);
    return response.json().catch(function () { return {}; }).then(function (data) {
      if (!response.ok) throw new ApiError(response.status, data);
      return data;
    });
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(answer);
  }

  function sendJSON(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken()},
      body: body === undefined ? "{}" : JSON.stringify(body),
    }).then(answer);
  }

  window.MissionOpsApi = {
    ApiError: ApiError,
    csrfToken: csrfToken,
    getJSON: getJSON,
    postJSON: function (url, body) { return sendJSON("POST", url, body); },
    patchJSON: function (url, body) { return sendJSON("PATCH", url, body); },
  };
})();
