// The predicted-stall list: refreshes from /v1/stall-list, sorts, and sends feedback.
(function () {
  "use strict";
  const table = document.getElementById("stall-list");
  if (!table) return;
  const body = table.querySelector("tbody");
  const status = document.getElementById("feedback-status");
  const asOf = document.getElementById("as-of").dataset.asOf;
  const replay = table.dataset.replay;
  const refresh = Number(table.dataset.refresh || 0);
  // A POST made with the session cookie must carry the session's CSRF token.
  const csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of [...params.entries()]) if (value === "") params.delete(key);
  let rows = null;

  // Forms send empty values for "all": drop them so the URL stays clean.
  document.getElementById("filters").addEventListener("submit", (event) => {
    for (const field of event.target.elements) if (field.name && field.value === "") field.disabled = true;
  });

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }
  function percent(p) { return p == null ? "–" : Math.round(p * 100) + "%"; }
  function ttb(r) {
    const t = r.time_to_breach;
    if (r.breached) return "already breached";
    if (!t) return "–";
    let text = "in " + t.median_business_hours.toFixed(1) + " business h";
    if (t.p90_business_hours != null) text += " (90 %: " + t.p90_business_hours.toFixed(1) + " h)";
    return text;
  }
  function row(r) {
    const link = "/tickets/" + encodeURIComponent(r.ticket_id) + (replay ? "?at=" + encodeURIComponent(replay) : "");
    const reasons = r.reasons.map((x) => "<li>" + esc(x) + "</li>").join("");
    return '<tr class="flag-' + r.flag + '" data-ticket="' + esc(r.ticket_id) + '" data-flag="' + r.flag + '">' +
      '<td class="rank"><span class="dot ' + r.flag + '" title="' + r.flag + '"></span>' + r.rank + "</td>" +
      '<td><a class="ticket" href="' + link + '">' + esc(r.ticket_id) + '</a><div class="muted">' + esc(r.priority) + " · " + esc(r.status) + "</div></td>" +
      '<td class="countdown">' + esc(r.countdown) + "</td>" +
      '<td class="probability">' + percent(r.probability) + (r.risk_band ? ' <span class="band">' + esc(r.risk_band) + "</span>" : "") + "</td>" +
      '<td class="ttb">' + esc(ttb(r)) + "</td>" +
      '<td class="why"><div>' + esc(r.why) + "</div><ul>" + reasons + "</ul></td>" +
      '<td class="owner">' + esc(r.owner || "–") + '</td><td class="group">' + esc(r.group || "–") + "</td>" +
      '<td class="channel">' + esc(r.channel || "–") + '</td><td class="category">' + esc(r.category || "–") + "</td>" +
      '<td class="actions"><button data-action="acknowledge">Acknowledge</button>' +
      '<span class="snooze"><select aria-label="snooze for"><option value="4">4 h</option><option value="24" selected>1 day</option><option value="72">3 days</option></select>' +
      '<button data-action="snooze">Snooze</button></span><button data-action="not_a_stall">Not a stall</button>' +
      (r.feedback ? '<div class="feedback muted">' + esc(r.feedback) + "</div>" : "") + "</td></tr>";
  }
  const order = {
    rank: (a, b) => a.rank - b.rank,
    due: (a, b) => a.urgency - b.urgency || a.rank - b.rank,
    probability: (a, b) => (b.probability || 0) - (a.probability || 0) || a.rank - b.rank,
    age: (a, b) => b.age_hours - a.age_hours || a.rank - b.rank,
  };
  function render() {
    const sort = params.get("sort") || "rank";
    rows.sort(order[sort] || order.rank);
    body.innerHTML = rows.map(row).join("");
  }
  function summary(data) {
    document.getElementById("total").textContent = data.total;
    document.getElementById("shown").textContent = data.shown;
    for (const flag of ["red", "amber", "green"]) document.getElementById("count-" + flag).textContent = data.counts[flag] || 0;
    document.getElementById("model-version").textContent = data.model_version || "none loaded: ranked by the SLA rules alone";
    document.getElementById("refreshed").textContent = "Updated " + new Date().toLocaleTimeString() + (refresh ? "; refreshes every " + refresh + " s." : ".");
  }
  async function load() {
    const answer = await fetch("/v1/stall-list?" + params.toString(), {headers: {accept: "application/json"}});
    if (!answer.ok) { status.textContent = "Could not refresh the list (" + answer.status + ")."; return; }
    const data = await answer.json();
    rows = data.rows;
    summary(data);
    render();
    table.dataset.loaded = String(Number(table.dataset.loaded || 0) + 1);
  }

  table.querySelector("thead").addEventListener("click", (event) => {
    const key = event.target.dataset && event.target.dataset.sort;
    if (!key || !rows) return;
    params.set("sort", key);
    window.history.replaceState(null, "", "?" + params.toString());
    render();
  });

  body.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const tr = button.closest("tr");
    const ticket = tr.dataset.ticket;
    const action = button.dataset.action;
    // The author is whoever is logged in; the service records that.
    const payload = {action: action, note: null};
    if (action === "snooze") {
      const hours = Number(tr.querySelector(".snooze select").value);
      payload.until = new Date(Date.parse(asOf) + hours * 3600 * 1000).toISOString();
    }
    button.disabled = true;
    const answer = await fetch("/v1/tickets/" + encodeURIComponent(ticket) + "/feedback", {
      method: "POST", body: JSON.stringify(payload),
      headers: {"content-type": "application/json", "x-csrf-token": csrfToken},
    });
    if (answer.status === 201) {
      status.textContent = ticket + ": " + action.replace(/_/g, " ") + " recorded.";
      tr.classList.add("done");
      await load();
    } else {
      let message = "HTTP " + answer.status;
      try { message = (await answer.json()).message || message; } catch (e) { /* not JSON */ }
      status.textContent = ticket + ": " + action.replace(/_/g, " ") + " failed: " + message;
      button.disabled = false;
    }
  });

  load();
  if (refresh > 0) window.setInterval(load, refresh * 1000);
})();
