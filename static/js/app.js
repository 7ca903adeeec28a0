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
