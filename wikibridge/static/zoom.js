// Keep the status of queued wiki actions fresh without a reload.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.url;
  if (!url) { return; }
  function refresh() {
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      data.actions.forEach(function (a) {
        var li = document.querySelector('[data-action="' + a.id + '"]');
        if (!li) { return; }
        li.className = "action status-" + a.status;
        li.querySelector(".status").textContent = a.status;
      });
      if (data.left > 0) { setTimeout(refresh, 1000); }
    }).catch(function () { setTimeout(refresh, 5000); });
  }
  if (document.querySelector('.status-queued, .status-running')) { setTimeout(refresh, 1000); }
})();
