// A letter batch's progress bar: its width from data-percent (no style="" under the CSP) and,
// while the batch renders, polling data-poll until it is done, then reloading the page.
(function () {
  const box = document.getElementById("progress");
  if (!box) return;
  const bar = box.querySelector(".progress-bar"), text = document.getElementById("progress-text");
  const show = (percent) => {
    bar.style.width = percent + "%"; bar.textContent = percent + "%"; box.setAttribute("aria-valuenow", percent);
  };
  show(Number(box.dataset.percent) || 0);
  const url = box.dataset.poll;
  if (!url) return;
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}})
      .then(r => r.json()).then(p => {
        show(p.percent);
        text.dataset.status = p.status;
        text.textContent = `${p.done} of ${p.total} done · ${p.emailed} emailed · ${p.rendered} to print · ${p.printed} printed · ${p.failed} failed` + (p.status === "done" ? " · finished" : "");
        if (p.status === "done" || p.status === "failed") {
          bar.classList.remove("progress-bar-animated", "progress-bar-striped");
          setTimeout(() => window.location.reload(), 300);
        } else { setTimeout(poll, 700); }
      }).catch(() => setTimeout(poll, 2000));
  }
  setTimeout(poll, 500);
})();
