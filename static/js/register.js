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
  const problemsBox = document.getElementById("register-problems");
  const saveButton = document.getElementById("save");
  const KEY_CODES = ["N", "I", "M", "R", "C", "G", "O", "E", "T", "V", "B", "K", "W", "S", "D", "X"];
  let submitting = false;

  form.classList.add("js-on"); // the CSS shows boxes only when needed, and the quick buttons
  // We show our own, clearer messages instead of the browser's validation bubbles.
  form.noValidate = true;

  const parts = (row) => ({
    select: row.querySelector("select.code"),
    minutes: row.querySelector("input.minutes"),
    reason: row.querySelector("input.reason"),
  });
  const isLate = (code) => code === "L" || code === "U";

  function lateCode(minutes) {
    return lateAfter + minutes <= closes ? "L" : "U";
  }

  // A saved mark is being changed: the code differs, or the minutes of a late mark do.
  function isChanged(row) {
    const { select, minutes } = parts(row);
    const saved = row.dataset.saved;
    if (saved === "" || select.value === "") return false;
    if (select.value !== saved) return true;
    return isLate(select.value) && minutes.value.trim() !== row.dataset.savedMinutes;
  }

  function isDirty(row) {
    const { select } = parts(row);
    return select.value !== row.dataset.saved || isChanged(row);
  }

  function refresh(row) {
    const { select, reason } = parts(row);
    const code = select.value;
    row.dataset.code = code;
    row.classList.toggle("is-late", isLate(code));
    const changed = isChanged(row);
    row.classList.toggle("is-changed", changed);
    reason.required = changed;
    row.querySelectorAll(".act").forEach((b) => {
      const c = b.dataset.code;
      const on = (c === "present" && code === present) || (c === "late" && isLate(code)) || c === code;
      b.classList.toggle("active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    counter.textContent = rows.filter((r) => parts(r).select.value).length;
  }

  function setCode(row, code) {
    const { select, minutes } = parts(row);
    if (select.disabled) return; // a mark this person may not change (registers.policy)
    if (code === "present") code = present;
    if (code === "late") {
      select.value = lateCode(Number(minutes.value || 0));
      refresh(row);
      minutes.focus();
      minutes.select();
      return;
    }
    if (!Array.from(select.options).some((o) => o.value === code)) return;
    if (!isLate(code)) minutes.value = "";
    select.value = code;
    refresh(row);
  }

  function advance(i) {
    if (i + 1 < rows.length) rows[i + 1].focus();
  }

  function clearProblems() {
    problemsBox.hidden = true;
    problemsBox.textContent = "";
    rows.forEach((row) => {
      row.querySelectorAll(".row-error.from-script").forEach((el) => el.remove());
      if (!row.querySelector(".row-error")) row.classList.remove("has-error");
    });
  }

  function rowProblem(row, text) {
    row.classList.add("has-error");
    const div = document.createElement("div");
    div.className = "text-danger small row-error from-script";
    div.textContent = text;
    row.querySelector(".pupil-text").appendChild(div);
  }

  // Problems the server would reject, found before posting (the server checks again).
  function check() {
    const problems = [];
    rows.forEach((row) => {
      const { select, minutes, reason } = parts(row);
      const m = minutes.value.trim();
      if (isLate(select.value) && m !== "" && !(/^\d+$/.test(m) && Number(m) <= 300)) {
        problems.push({ row, field: minutes, text: "minutes late must be a whole number from 0 to 300." });
      } else if (isChanged(row) && !reason.value.trim()) {
        const what = select.value === row.dataset.saved ? `the minutes late of ${select.value}` : `${row.dataset.saved} to ${select.value}`;
        problems.push({ row, field: reason, text: `give a reason for changing ${what}.` });
      }
    });
    return problems;
  }

  rows.forEach((row, i) => {
    const { select, minutes, reason } = parts(row);
    row.querySelectorAll(".act").forEach((b) => b.addEventListener("click", () => setCode(row, b.dataset.code)));
    select.addEventListener("change", () => {
      if (!isLate(select.value)) minutes.value = "";
      refresh(row);
    });
    minutes.addEventListener("input", () => {
      if (minutes.value !== "") select.value = lateCode(Number(minutes.value));
      refresh(row);
    });
    reason.addEventListener("input", () => refresh(row));
    // Enter in a text box would post the whole register: go back to the list instead.
    [minutes, reason].forEach((input) => input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); advance(i); if (i + 1 === rows.length) row.focus(); }
      else if (e.key === "Escape") { e.preventDefault(); row.focus(); }
    }));
    row.addEventListener("keydown", (e) => {
      const tag = e.target.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
      // Space and Enter on a focused button press that button.
      if (tag === "BUTTON" && (e.key === " " || e.key === "Enter")) return;
      const key = e.key.length === 1 ? e.key.toUpperCase() : e.key;
      let handled = true;
      if (key === "ArrowDown") rows[Math.min(i + 1, rows.length - 1)].focus();
      else if (key === "ArrowUp") rows[Math.max(i - 1, 0)].focus();
      else if (key === "Home") rows[0].focus();
      else if (key === "End") rows[rows.length - 1].focus();
      else if (key === "P" || key === "/" || key === " ") { setCode(row, "present"); advance(i); }
      else if (key === "L") setCode(row, "late");
      else if (KEY_CODES.includes(key)) { setCode(row, key); advance(i); }
      else handled = false;
      if (handled) e.preventDefault();
    });
    refresh(row);
  });

  document.getElementById("all-present").addEventListener("click", (e) => {
    e.preventDefault();
    // A pupil whose parent reported an absence, or who is not expected this session
    // (a nursery pattern's X, a part-time timetable's C2), is never made present here.
    rows.forEach((row) => {
      if (!parts(row).select.value && !row.dataset.report && !row.dataset.planned) setCode(row, "present");
    });
  });

  form.addEventListener("submit", (e) => {
    clearProblems();
    const problems = check();
    if (problems.length) {
      e.preventDefault();
      problems.forEach((p) => rowProblem(p.row, p.text.charAt(0).toUpperCase() + p.text.slice(1)));
      const intro = document.createElement("p");
      intro.className = "mb-1 fw-semibold";
      intro.textContent = problems.length === 1 ? "Nothing was saved. Please fix this first:" :
        `Nothing was saved. Please fix these ${problems.length} things first:`;
      const list = document.createElement("ul");
      list.className = "mb-0";
      problems.forEach((p) => {
        // Each problem links to the box to fix.
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = `#${p.field.id}`;
        a.className = "alert-link";
        a.textContent = `${p.row.dataset.name}: ${p.text}`;
        a.addEventListener("click", (ev) => { ev.preventDefault(); p.field.focus(); });
        li.appendChild(a);
        list.appendChild(li);
      });
      problemsBox.replaceChildren(intro, list);
      problemsBox.hidden = false;
      problems[0].field.focus();
      return;
    }
    submitting = true;
    // One click saves: stop a second click posting the register again.
    setTimeout(() => { saveButton.disabled = true; saveButton.textContent = "Saving…"; }, 0);
  });

  // Coming back with the browser's Back button: the page may be restored as it was left.
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) { submitting = false; saveButton.disabled = false; saveButton.textContent = "Save register"; }
  });

  // Warn before leaving with marks that are not saved yet.
  window.addEventListener("beforeunload", (e) => {
    if (!submitting && rows.some(isDirty)) { e.preventDefault(); e.returnValue = ""; }
  });
})();
