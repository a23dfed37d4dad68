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

  // A select marked data-submit-on-change (the language picker) sends its form at once.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-submit-on-change]")) { event.target.form.submit(); }
  });

  // Call screen shortcuts: N next call, 1–5 outcomes, Esc closes a panel.
  function openPanel(name) {
    document.querySelectorAll("#outcome-form .panel").forEach(function (panel) {
      var open = panel.dataset.panelFor === name;
      panel.hidden = !open;
      panel.disabled = !open;
    });
    var panel = document.querySelector('#outcome-form .panel[data-panel-for="' + name + '"]');
    var first = panel && panel.querySelector("input:checked, input");
    if (first) { first.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#outcome-form button[data-panel]");
    if (button) { openPanel(button.dataset.panel); }
  });

  // Enter in a field must never record an outcome by accident: inside an open
  // panel it saves that panel, anywhere else on the card it does nothing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.closest("#outcome-form")) { return; }
    if (event.target.matches("button")) { return; }
    event.preventDefault();
    var panel = event.target.closest(".panel");
    var save = panel && panel.querySelector("button[type=submit]");
    if (save) { save.click(); }
  }, true);

  document.addEventListener("keydown", function (event) {
    if (!document.querySelector("[data-shortcuts=calls]")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var typing = event.target.matches("input:not([type=radio]):not([type=checkbox]), textarea, select");
    if (event.key === "Escape") { openPanel(null); return; }
    if (typing) { return; }
    var next = document.getElementById("next-call");
    if ((event.key === "n" || event.key === "N") && next) {
      event.preventDefault();
      next.click();
      return;
    }
    var button = document.querySelector('#outcome-form button[data-key="' + event.key + '"]');
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
})();
