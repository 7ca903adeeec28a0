// Letter template editor: live HTML preview of the unsaved body in a sandboxed iframe, and
// "Open PDF". The preview's styles are a static stylesheet (the CSP allows no inline <style>).
(function () {
  const form = document.getElementById("template-form"), frame = document.getElementById("preview");
  if (!form || !frame) return;
  const body = form.querySelector("[name=body]"), kind = form.querySelector("[name=kind]");
  const pupil = document.getElementById("preview-pupil"), err = document.getElementById("preview-error");
  const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL(frame.dataset.css, window.location.href).href;
  let timer = null, seq = 0;
  function refresh() {
    const mine = ++seq;
    const data = new FormData();
    data.append("body", body.value); data.append("kind", kind.value); data.append("pupil", pupil.value);
    fetch(frame.dataset.url, {method: "POST", body: data, headers: {"X-CSRFToken": token}})
      .then(r => r.json()).then(j => {
        if (mine !== seq) return;
        if (j.ok) { err.classList.add("d-none"); frame.srcdoc = j.html.replace("</head>", link.outerHTML + "</head>"); }
        else { err.textContent = j.error; err.classList.remove("d-none"); }
      });
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 400); }
  body.addEventListener("input", later); kind.addEventListener("change", refresh); pupil.addEventListener("change", refresh);
  document.getElementById("preview-pdf").addEventListener("click", () => {
    const f = document.getElementById("pdf-form");
    f.body.value = body.value; f.kind.value = kind.value; f.pupil.value = pupil.value; f.submit();
  });
  refresh();
})();
