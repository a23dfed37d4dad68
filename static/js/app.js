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

  // Behaviours named by data- attributes in the markup, since the Content-Security-Policy
  // runs no inline handler (onclick=, hx-on) and htmx evaluates no code.

  // A "select all" tick box ticks or clears every box its data-check-all selector names.
  document.addEventListener("change", function (event) {
    var all = event.target.closest("input[data-check-all]");
    if (!all) { return; }
    document.querySelectorAll(all.dataset.checkAll).forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // A data-remove-row button drops its table row; the table body hears "change", so a
  // total computed from the rows follows.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-remove-row]");
    if (!button) { return; }
    var rows = button.closest("tbody");
    button.closest("tr").remove();
    htmx.trigger(rows, "change");
  });

  // A data-copy button copies the value of the field its selector names, and says so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    navigator.clipboard.writeText(document.querySelector(button.dataset.copy).value);
    button.textContent = button.dataset.copied;
  });

  // Inside a data-swap-status region that error answer carries a reason to show (a
  // carrier's API that failed answers 502): swap it like a refusal.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var region = event.target.closest("[data-swap-status]");
    if (region && String(event.detail.xhr.status) === region.dataset.swapStatus) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A live region (data-poll-visible) skips its turn while the tab is hidden: a screen
  // switched to another page asks nothing until it is shown again.
  document.addEventListener("htmx:confirm", function (event) {
    if (document.hidden && event.target.hasAttribute("data-poll-visible")) {
      event.preventDefault();
    }
  });

  // Call screen shortcuts: N next call, 1–5 outcomes, Esc closes a panel.
  // A panel (Call later, Canceled, Fake) behaves like a small dialog: while it is
  // open no outcome key fires, and Esc closes it and gives the focus back to the
  // button that opened it.
  var panelOpener = null;

  function openPanel(name, opener) {
    document.querySelectorAll("#outcome-form .panel").forEach(function (panel) {
      var open = panel.dataset.panelFor === name;
      panel.hidden = !open;
      panel.disabled = !open;
    });
    document.querySelectorAll("#outcome-form button[data-panel]").forEach(function (button) {
      button.setAttribute("aria-expanded", String(button.dataset.panel === name));
    });
    panelOpener = name ? opener || null : null;
    var panel = document.querySelector('#outcome-form .panel[data-panel-for="' + name + '"]');
    var first = panel && panel.querySelector("input:checked, input");
    if (first) { first.focus(); }
  }

  function openedPanel() {
    return document.querySelector("#outcome-form .panel:not([hidden])");
  }

  function closePanel() {
    var opener = panelOpener;
    openPanel(null);
    if (opener && document.contains(opener)) { opener.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#outcome-form button[data-panel]");
    if (button) { openPanel(button.dataset.panel, button); }
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

  // Controls where a typed digit or letter means something else (or a mistaken
  // keystroke must not record an outcome): fields, ticks, radios and selects.
  var OWN_KEYS = "input, textarea, select, [contenteditable]:not([contenteditable=false])";

  // The same physical keys in every language: the digit row (where AZERTY types "&"
  // unshifted) and the numeric pad give 1–5, the N key gives N on an Arabic layout
  // too, and Arabic-Indic digits count as their Latin twins.
  var ARABIC_DIGITS = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669";

  function shortcutKey(event) {
    var place = /^(?:Digit|Numpad)([0-9])$/.exec(event.code || "");
    if (place) { return place[1]; }
    if (event.code === "KeyN") { return "n"; }
    var arabic = ARABIC_DIGITS.indexOf(event.key);
    if (arabic >= 0) { return String(arabic); }
    return (event.key || "").toLowerCase();
  }

  document.addEventListener("keydown", function (event) {
    if (!document.querySelector("[data-shortcuts=calls]")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape") {
      if (openedPanel()) { event.preventDefault(); closePanel(); }
      return;
    }
    if (openedPanel() || document.querySelector("dialog[open]") ||
        event.target.closest(OWN_KEYS)) { return; }
    var key = shortcutKey(event);
    var next = document.getElementById("next-call");
    if (key === "n" && next) {
      event.preventDefault();
      next.click();
      return;
    }
    var button = document.querySelector('#outcome-form button[data-key="' + key + '"]');
    if (button) {
      event.preventDefault();
      button.click();
    }
  });

  // After an outcome or a Next call the new card's heading (or, with the queue
  // empty, the Next call button) takes the focus, so keyboard and screen-reader
  // users carry on from the new call; the live region has said what was recorded.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "call-area") { return; }
    panelOpener = null;
    var target = event.detail.target.querySelector("[data-take-focus]");
    if (target) { target.focus(); }
  });
})();
