// The shipping desk: a selection that survives paging and filtering, bulk actions sent
// in chunks of 50 (each chunk its own request and transaction) with a progress bar, and
// the print button of the slips page. Loaded again on every boosted visit: runs once.
(function () {
  "use strict";
  if (window.codboardDesk) { return; }
  window.codboardDesk = true;

  var selected = new Set();  // order ids, as strings
  var running = false;
  var lastBulkStatus = 0;

  function boxes() {
    return Array.from(document.querySelectorAll('#bulk input[name="ids"]'));
  }

  // What the desk says comes from the page, in its language (data-texts on #bulk, written
  // by templates/shipping/index.html); {n}, {max} and {total} are filled in here.
  // Kept from the last #bulk seen: the last chunk's report may swap in a page without one.
  var texts = {};

  function text(key, values) {
    var form = document.getElementById("bulk");
    if (form && form.dataset.texts) {
      try { texts = JSON.parse(form.dataset.texts); } catch (error) { /* keep the last */ }
    }
    var template = texts[key] || "";
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && name in values ? String(values[name]) : whole;
    });
  }

  function limit() {
    var form = document.getElementById("bulk");
    return Number((form && form.dataset.max) || 500);
  }

  // Reflect the selection on whatever rows the page shows now.
  function show() {
    var onPage = boxes();
    onPage.forEach(function (box) { box.checked = selected.has(box.value); });
    var pageBox = document.getElementById("select-page");
    if (pageBox) {
      pageBox.checked = onPage.length > 0 && onPage.every(function (b) { return b.checked; });
    }
    var count = document.getElementById("selected-count");
    if (count) {
      count.textContent = selected.size ? text("selected", { n: selected.size }) : text("none");
    }
  }

  function say(text) {
    var label = document.getElementById("bulk-progress-text");
    if (label) { label.textContent = text; }
  }

  function add(id) {
    if (selected.size >= limit()) {
      say(text("limit", { max: limit() }));
      return false;
    }
    selected.add(String(id));
    return true;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches('#bulk input[name="ids"]')) {
      if (target.checked) { add(target.value); } else { selected.delete(target.value); }
      show();
    } else if (target.id === "select-page") {
      boxes().forEach(function (box) {
        if (target.checked) { add(box.value); } else { selected.delete(box.value); }
      });
      show();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); return; }
    if (event.target.closest("[data-clear-selection]")) {
      selected.clear();
      say("");
      show();
      return;
    }
    var all = event.target.closest("[data-select-all]");
    if (all) {
      fetch(all.dataset.selectAll, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          (data.ids || []).forEach(add);
          say(text("matching", { n: (data.ids || []).length }));
          show();
        });
    }
  });

  // Rows swapped in by filters, paging or a bulk report keep their ticks.
  document.addEventListener("htmx:afterSettle", show);

  document.addEventListener("htmx:afterRequest", function (event) {
    var path = event.detail.pathInfo && event.detail.pathInfo.requestPath;
    if (path && path.indexOf("/shipping/bulk") !== -1) {
      lastBulkStatus = event.detail.xhr ? event.detail.xhr.status : 0;
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "bulk" || !window.htmx) { return; }  // without htmx the form posts
    var action = event.submitter && event.submitter.value;
    if (!action) { return; }
    event.preventDefault();
    if (running) { return; }
    var ids = Array.from(selected);
    if (!ids.length) {
      say(text("tick_first"));
      return;
    }
    if (action === "slips") {
      window.open(form.dataset.slips + "?ids=" + ids.join(","), "_blank");
      return;
    }
    // form.action would be the buttons named "action", not the URL.
    run(form.getAttribute("action"), action, ids, Number(form.dataset.chunk || 50));
  });

  function run(url, action, ids, size) {
    // Sync only enqueues jobs: one request. Moves go 50 at a time, one after another.
    var chunks = [];
    var step = action === "sync" ? ids.length : size;
    for (var i = 0; i < ids.length; i += step) { chunks.push(ids.slice(i, i + step)); }
    var report = document.getElementById("bulk-report");
    var progress = document.getElementById("bulk-progress");
    report.innerHTML = "";
    running = true;
    if (chunks.length > 1) {
      progress.max = ids.length;
      progress.value = 0;
      progress.hidden = false;
    }
    var done = 0;
    function next(index) {
      if (index >= chunks.length) {
        running = false;
        progress.hidden = true;
        say(chunks.length > 1 ? text("all_done", { total: ids.length }) : "");
        selected.clear();
        show();
        return;
      }
      var view = document.querySelector('#bulk input[name="view"]');
      lastBulkStatus = 0;
      window.htmx.ajax("POST", url, {
        target: "#bulk-report", swap: "beforeend",
        values: { action: action, ids: chunks[index].join(","), view: view ? view.value : "" },
      }).then(function () {
        if (lastBulkStatus >= 400 || lastBulkStatus === 0) {
          running = false;
          progress.hidden = true;
          say(text("stopped", { n: done, total: ids.length }));
          return;
        }
        done += chunks[index].length;
        progress.value = done;
        if (chunks.length > 1) { say(text("progress", { n: done, total: ids.length })); }
        next(index + 1);
      });
    }
    next(0);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", show);
  } else {
    show();
  }
})();
