// Behaviour every page may use, wired by data attributes: the Content-Security-Policy allows
// no inline scripts or on*="" handlers.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// A select of whole terms fills the form's from/to dates (value "YYYY-MM-DD|YYYY-MM-DD").
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-term-select]");
  if (!select || !select.value) return;
  const [from, to] = select.value.split("|");
  select.form.elements.from.value = from;
  select.form.elements.to.value = to;
});

// Error pages: "Back" goes back in the browser's history (the link itself points to the
// previous page or the home page, for when there is no history).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// The parent's report form: "Arrived late" asks for the time and why, an absence for the
// dates. Without JavaScript both are shown (the server ignores what does not apply).
function showReportFields(form) {
  const checked = form.querySelector("input[name=reason]:checked");
  const lateArrival = checked && checked.value === "late_arrival";
  form.querySelectorAll("[data-late-only]").forEach((el) => { el.hidden = !lateArrival; });
  form.querySelectorAll("[data-absence-only]").forEach((el) => { el.hidden = lateArrival; });
}
document.querySelectorAll("form[data-report-form]").forEach(showReportFields);
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-report-form]");
  if (form && event.target.name === "reason") showReportFields(form);
});
