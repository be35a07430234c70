// Keep the progress of the ticket's wiki edits fresh without a reload, and
// let one checkbox choose every linked page.
(function () {
  "use strict";
  var all = document.querySelector(".select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('.tag-form input[name="link"]').forEach(function (box) { box.checked = all.checked; });
    });
  }
  var script = document.currentScript;
  var url = script && script.dataset.url;
  if (!url) { return; }
  function text(el, selector, value) {
    var target = el.querySelector(selector);
    if (target) { target.textContent = value; }
  }
  function show(batch) {
    var box = document.querySelector('[data-batch="' + batch.id + '"]');
    if (!box) { return false; }
    box.className = "batch status-" + batch.status;
    var bar = box.querySelector("progress");
    bar.max = batch.total;
    bar.value = batch.total - batch.left;
    text(box, ".batch-status", batch.status);
    text(box, ".counts .done .n", batch.done);
    text(box, ".counts .skipped .n", batch.skipped);
    text(box, ".counts .failed .n", batch.failed + batch.conflict);
    text(box, ".counts .left .n", batch.left);
    batch.pages.forEach(function (p) {
      var li = box.querySelector('[data-action="' + p.id + '"]');
      if (!li) { return; }
      li.className = "action status-" + p.status;
      text(li, ".status", p.status);
      text(li, ".message", p.message ? "— " + p.message : "");
      text(li, ".revision", p.revision ? "(" + p.revision + ")" : "");
    });
    return true;
  }
  function refresh() {
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      var known = data.batches.every(show);
      // Finished: reload once, for the Undo buttons and the pages' new state.
      if (data.left > 0 && known) { setTimeout(refresh, 1000); } else { window.location.reload(); }
    }).catch(function () { setTimeout(refresh, 5000); });
  }
  if (document.querySelector(".batch.status-queued, .batch.status-running")) { setTimeout(refresh, 1000); }
})();
