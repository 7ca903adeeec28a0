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
