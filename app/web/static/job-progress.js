// Follows a background job: polls its API resource each second until it succeeded or failed.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box) { return; }
  var states = JSON.parse(box.getAttribute("data-states"));
  var labels = JSON.parse(box.getAttribute("data-labels"));
  // As the page renders it (app/web/background_jobs.py shown()).
  function describe(value) {
    if (Array.isArray(value)) {
      if (value.length && value[0] !== null && typeof value[0] === "object") { return value.length + " 项"; }
      return value.map(describe).join("，");
    }
    if (value !== null && typeof value === "object") {
      return Object.keys(value).map(function (k) { return k + ": " + describe(value[k]); }).join("；");
    }
    return String(value);
  }
  function show(job) {
    box.querySelector(".job-status").textContent = states[job.status] || job.status;
    box.querySelector(".job-attempts").textContent = job.attempts;
    var bar = box.querySelector(".job-bar");
    bar.max = job.progress_total || 1;
    bar.value = job.progress_done;
    box.querySelector(".job-done").textContent = job.progress_done;
    box.querySelector(".job-total").textContent = job.progress_total;
    var error = box.querySelector(".job-error");
    error.hidden = !job.error;
    error.textContent = job.error || "";
    var result = box.querySelector(".job-result");
    result.replaceChildren();
    Object.keys(job.result || {}).forEach(function (key) {
      var term = document.createElement("dt");
      var value = document.createElement("dd");
      var shown = job.result[key];
      term.textContent = labels[key] || "";
      value.textContent = describe(shown);
      result.append(term, value);
    });
    return job.status === "succeeded" || job.status === "failed";
  }
  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) { if (job && !show(job)) { window.setTimeout(poll, 1000); } })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
