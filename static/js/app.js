// Small behaviours shared by every page; no framework beyond htmx.
(function () {
  "use strict";

  // A message swapped into #messages after an htmx request should be seen:
  // bring it into view, since the action that caused it may be far down.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "messages") {
      event.detail.target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  });

  // A successful action clears an error left by an earlier attempt.
  document.addEventListener("htmx:beforeRequest", function () {
    var messages = document.getElementById("messages");
    if (messages) {
      messages.querySelectorAll(".flash-error").forEach(function (el) { el.remove(); });
    }
  });

  // Filter forms send only the filters in use, so URLs stay short and shareable.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute("data-drop-empty")) { return; }
    var params = event.detail.parameters;
    Array.from(params.keys ? params.keys() : Object.keys(params)).forEach(function (key) {
      if (params.get ? params.get(key) === "" : params[key] === "") { delete params[key]; }
    });
  });
})();
