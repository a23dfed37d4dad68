// Scan mode: the scanner types a code and Enter into one field that never loses focus
// (except to an Undo button being clicked); each answer beeps, high for done, low for
// refused, drawn with WebAudio (no sound files). Loaded again on boosted visits: runs once.
(function () {
  "use strict";
  if (window.codboardScan) { return; }
  window.codboardScan = true;

  var audio = null;

  function field() { return document.getElementById("scan-code"); }

  function refocus() {
    var input = field();
    if (input && document.activeElement !== input) { input.focus(); }
  }

  function beep(high) {
    var desk = document.getElementById("scan-desk");
    if (desk) { desk.dataset.lastTone = high ? "high" : "low"; }
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") { audio.resume(); }
      var length = high ? 0.12 : 0.35;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = high ? 1320 : 220;
      gain.gain.setValueAtTime(0.12, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + length);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + length);
    } catch (error) {
      // No audio device (or no WebAudio): the colour still says it.
    }
  }

  // The answer says which tone (HX-Trigger: {"scan-tone": "high"|"low"}).
  document.addEventListener("scan-tone", function (event) {
    beep(event.detail && event.detail.value === "high");
  });

  // Each Enter takes the field's value at once and empties it, so the next scan can be
  // typed while this one is on its way; answers are asked for one after another, so
  // the list keeps the order of the scans.
  var queue = Promise.resolve();
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "scan-form" || !window.htmx) { return; }  // without htmx it posts
    event.preventDefault();
    var code = field().value.trim();
    field().value = "";
    if (!code) { return; }
    queue = queue.then(function () {
      return window.htmx.ajax("POST", form.getAttribute("action"), {
        target: "#scans", swap: "afterbegin", values: { code: code },
      });
    }).catch(function () { /* a lost answer must not stop the next scans */ });
  });

  // Leaving the field is only allowed for an Undo button; anything else brings it back.
  document.addEventListener("focusout", function (event) {
    if (event.target !== field()) { return; }
    var next = event.relatedTarget;
    if (next && next.closest && next.closest(".scan-undo")) { return; }
    setTimeout(function () {
      var active = document.activeElement;
      if (!(active && active.closest && active.closest(".scan-undo"))) { refocus(); }
    }, 0);
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (field()) { refocus(); }
  });

  document.addEventListener("htmx:load", function () {
    if (field()) { refocus(); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refocus);
  } else {
    refocus();
  }
})();
