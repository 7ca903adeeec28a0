// Register marking: buttons and keys set each pupil's code select; the server decides and
// validates everything again on save. Works without this script (the selects post as-is).
(function () {
  const form = document.getElementById("register");
  if (!form) return;
  const present = form.dataset.present;
  const toMinutes = (hhmm) => { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; };
  const lateAfter = toMinutes(form.dataset.lateAfter);
  const closes = toMinutes(form.dataset.close);
  const rows = Array.from(form.querySelectorAll(".register-row"));
  const counter = document.getElementById("marked-count");

  function lateCode(minutes) {
    return lateAfter + minutes <= closes ? "L" : "U";
  }

  function refresh(row) {
    const select = row.querySelector("select.code");
    const code = select.value;
    row.dataset.code = code;
    row.classList.toggle("is-late", code === "L" || code === "U");
    const saved = row.dataset.saved;
    const changed = saved !== "" && code !== saved;
    row.classList.toggle("is-changed", changed);
    row.querySelector("input.reason").required = changed;
    row.querySelectorAll(".act").forEach((b) => {
      const c = b.dataset.code;
      const on = (c === "present" && code === present) || (c === "late" && (code === "L" || code === "U")) || c === code;
      b.classList.toggle("active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    counter.textContent = rows.filter((r) => r.querySelector("select.code").value).length;
  }

  function setCode(row, code) {
    const select = row.querySelector("select.code");
    const minutes = row.querySelector("input.minutes");
    if (code === "present") code = present;
    if (code === "late") {
      code = lateCode(Number(minutes.value || 0));
      select.value = code;
      refresh(row);
      minutes.focus();
      minutes.select();
      return;
    }
    if (code !== "L" && code !== "U") minutes.value = "";
    if (!Array.from(select.options).some((o) => o.value === code)) return;
    select.value = code;
    refresh(row);
  }

  rows.forEach((row) => {
    row.querySelectorAll(".act").forEach((b) => b.addEventListener("click", () => setCode(row, b.dataset.code)));
    row.querySelector("select.code").addEventListener("change", () => refresh(row));
    row.querySelector("input.minutes").addEventListener("input", (e) => {
      if (e.target.value !== "") {
        row.querySelector("select.code").value = lateCode(Number(e.target.value));
        refresh(row);
      }
    });
    row.addEventListener("keydown", (e) => {
      if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
      const i = rows.indexOf(row);
      const key = e.key.toUpperCase();
      let handled = true;
      if (e.key === "ArrowDown") rows[Math.min(i + 1, rows.length - 1)].focus();
      else if (e.key === "ArrowUp") rows[Math.max(i - 1, 0)].focus();
      else if (key === "P" || e.key === "/" || e.key === " ") { setCode(row, "present"); advance(i); }
      else if (key === "L") setCode(row, "late");
      else if (["N", "I", "M", "R", "C", "G", "O", "E", "T", "V", "B", "K", "W", "S", "D", "X"].includes(key)) {
        setCode(row, key); advance(i);
      } else handled = false;
      if (handled) e.preventDefault();
    });
    refresh(row);
  });

  function advance(i) {
    if (i + 1 < rows.length) rows[i + 1].focus();
  }

  document.getElementById("all-present").addEventListener("click", (e) => {
    e.preventDefault();
    rows.forEach((row) => { if (!row.querySelector("select.code").value) setCode(row, "present"); });
  });
})();
