/* Keep a run's page current while the run is in flight: poll its progress
   URL every second and update the status badge, error and log in place,
   until the run has finished. */
"use strict";

(function () {
  const INTERVAL_MS = 1000;
  const MAX_FAILURES = 30;

  function start(holder) {
    const url = holder.dataset.url;
    const runId = holder.dataset.run;
    const status = document.getElementById("run-status-" + runId);
    const log = document.getElementById("run-log-" + runId);
    const error = document.getElementById("run-error-" + runId);
    const notice = document.getElementById("si-run-notice");
    let failures = 0;

    function show(progress) {
      if (status) {
        status.textContent = progress.status_label;
        status.dataset.status = progress.status;
        status.className = "si-badge si-badge--" + progress.tone;
      }
      if (error) {
        error.textContent = progress.error || "-";
      }
      if (log && log.textContent !== progress.log) {
        // Follow the tail unless the reader scrolled up to read.
        const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.textContent = progress.log;
        if (atEnd) {
          log.scrollTop = log.scrollHeight;
        }
      }
    }

    function finish(progress) {
      if (!notice) {
        return;
      }
      notice.hidden = false;
      notice.textContent = "The run finished (" + progress.status_label.toLowerCase() +
        "). Reload the page to see its lock and what changed.";
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("progress answered " + response.status);
          }
          return response.json();
        })
        .then(function (progress) {
          failures = 0;
          show(progress);
          if (progress.in_flight) {
            window.setTimeout(poll, INTERVAL_MS);
          } else {
            finish(progress);
          }
        })
        .catch(function () {
          // A restarting server or a dropped connection: keep trying for a
          // while rather than leave a page that silently stopped updating.
          failures += 1;
          if (failures < MAX_FAILURES) {
            window.setTimeout(poll, INTERVAL_MS);
          } else if (notice) {
            notice.hidden = false;
            notice.textContent = "Progress updates stopped; reload the page.";
          }
        });
    }

    window.setTimeout(poll, INTERVAL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const holder = document.getElementById("si-run-progress");
    if (holder && holder.dataset.inFlight === "true") {
      start(holder);
    }
  });
})();
