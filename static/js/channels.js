// Channel settings: Copy buttons (webhook URL, a new API key) and the Sync now widget,
// whose 503 answer ("queue unreachable") is a message to show, not a failure to drop.
// Loaded again on every boosted visit: runs once.
(function () {
  "use strict";
  if (window.codboardChannels) { return; }
  window.codboardChannels = true;

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    var field = button && document.getElementById(button.dataset.copy);
    if (!field) { return; }
    field.select();
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value); }
    button.textContent = button.dataset.copied || "Copied";  // the page's language
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr.status === 503 && target && target.hasAttribute("data-swap-unavailable")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
