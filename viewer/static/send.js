// SecureMedia viewer: Send to PACS. "Test connection" without leaving the
// form, and the progress page kept up to date by polling /send/status.
// Both pages work without this script (normal form posts, reloads).
"use strict";
(function () {
  const form = document.getElementById("sendform");
  if (!form) return;
  const echo = document.getElementById("echo");
  const out = document.getElementById("echoresult");
  echo.addEventListener("click", function (ev) {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    echo.disabled = true;
    out.className = "";
    out.textContent = "Testing the connection…";
    fetch("/send/echo", { method: "POST", body: new URLSearchParams(new FormData(form)), headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        const errs = j.errors || {};
        const first = Object.keys(errs)[0];
        out.textContent = first ? errs[first] : j.message;
        out.className = j.ok ? "ok" : "error";
      })
      .catch(function () { out.className = "error"; out.textContent = "The viewer did not answer."; })
      .finally(function () { echo.disabled = false; });
  });
  form.addEventListener("submit", function (ev) {
    if (ev.submitter === echo) return;
    if (form.dataset.busy) { ev.preventDefault(); return; }
    form.dataset.busy = "1";
    document.getElementById("sendbutton").disabled = true;
  });
})();
(function () {
  const job = document.getElementById("sendjob");
  if (!job || job.dataset.done === "true") return;
  const bar = document.getElementById("sendprogress");
  const summary = document.getElementById("sendsummary");
  const message = document.getElementById("sendmessage");
  const table = document.getElementById("sendresults");
  const body = table.querySelector("tbody");
  let next = body.rows.length;
  function row(it) {
    const tr = document.createElement("tr");
    tr.className = it.stored ? "stored" : "notstored";
    [it.label, it.result, it.reason].forEach(function (t) {
      const td = document.createElement("td");
      td.textContent = t;
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  function show(s) {
    bar.max = Math.max(1, s.state === "checking" ? s.total : s.toSend);
    bar.value = s.state === "checking" ? s.checked : s.sent;
    summary.textContent = s.summary;
    message.textContent = s.message;
    message.hidden = !s.message;
    (s.items || []).forEach(row);
    next = s.next;
    table.hidden = body.rows.length === 0;
    if (s.done) {
      document.getElementById("cancelform").hidden = true;
      document.getElementById("reloadhint").hidden = true;
      document.getElementById("sendagain").hidden = false;
      if (s.state === "done") bar.value = bar.max;
    }
    return s.done;
  }
  function poll() {
    fetch("/send/status?since=" + next, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) { if (!show(s)) setTimeout(poll, 300); })
      .catch(function () { summary.textContent = "The viewer stopped answering; reload the page to see where the send stands."; });
  }
  document.getElementById("cancelform").addEventListener("submit", function (ev) {
    ev.preventDefault();
    fetch("/send/cancel", { method: "POST", credentials: "same-origin" });
    summary.textContent = "Cancelling…";
  });
  poll();
})();
