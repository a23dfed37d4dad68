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
})();
