import { h } from "./dom.js";

// Everything from the server is written with textContent: labels and messages are data, never markup.
(function () {
  const $ = (id) => document.getElementById(id);
  let pendingState = null;

  const el = (tag, text, className) => h(tag, className ? { class: className } : {}, text ?? null);

  function banner(kind, message) {
    const b = $("banner");
    b.textContent = message;
    b.className = "banner " + (kind === "ok" ? "ok" : "err");
  }

  function errorMessage(body, status) {
    if (body && body.error && typeof body.error.message === "string") return body.error.message;
    return "Request failed (HTTP " + status + ")";
  }

  function countdown(resetTime) {
    if (!resetTime) return "-";
    const ms = Date.parse(resetTime) - Date.now();
    if (!Number.isFinite(ms)) return "-";
    if (ms <= 0) return "now";
    const h = Math.floor(ms / 3600000), m = Math.floor((ms % 3600000) / 60000), s = Math.floor((ms % 60000) / 1000);
    return h > 0 ? h + "h " + m + "m" : m + "m " + s + "s";
  }

  function renderModels(modelTotals) {
    const table = $("models");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    const ids = Object.keys(modelTotals || {}).sort();
    table.classList.toggle("hidden", ids.length === 0);
    for (const id of ids) {
      const t = modelTotals[id];
      const row = el("tr");
      row.append(el("td", t.displayName || id), el("td", t.accountCount), el("td", t.averagePercent + "%"));
      const reset = el("td", countdown(t.earliestReset));
      reset.dataset.reset = t.earliestReset || "";
      row.append(reset);
      body.append(row);
    }
  }

  function renderCards(accounts) {
    const cards = $("cards");
    cards.replaceChildren();
    $("empty").classList.toggle("hidden", accounts.length > 0);
    for (const a of accounts) {
      const card = el("div", null, "card");
      card.append(el("h3", a.email || "Account " + a.id));
      card.append(el("span", a.enabled ? "active" : "disabled", "chip " + (a.enabled ? "on" : "off")));
      const quotas = Object.values(a.quota || {});
      const avg = quotas.length ? Math.floor(quotas.reduce((s, q) => s + q.remainingFraction, 0) / quotas.length * 100) : null;
      card.append(el("div", "Average quota left: " + (avg === null ? "unknown" : avg + "%"), "muted"));
      card.append(el("div", "Models: " + quotas.length, "muted"));
      if (a.projectId) card.append(el("div", "Project: " + a.projectId, "muted"));
      if (a.created_at) card.append(el("div", "Added: " + String(a.created_at).slice(0, 10), "muted"));
      cards.append(card);
    }
  }

  async function loadAccounts() {
    try {
      const res = await fetch("/api/gemini/accounts", { headers: { accept: "application/json" } });
      const body = await res.json();
      if (!res.ok) throw new Error(errorMessage(body, res.status));
      $("active-count").textContent = String(body.activeCount);
      $("total-count").textContent = String(body.totalCount);
      renderModels(body.modelTotals);
      renderCards(body.accounts || []);
    } catch (e) {
      $("active-count").textContent = "?";
      $("total-count").textContent = "?";
    }
  }

  async function submit(payload) {
    $("submit").disabled = true;
    try {
      const res = await fetch("/api/gemini/oauth-callback", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(payload),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(errorMessage(body, res.status));
      banner("ok", (body && body.message) || "Account added. Thank you!");
      $("pasted").value = "";
      setTimeout(loadAccounts, 1000);
    } catch (e) {
      banner("err", e.message || String(e));
    } finally {
      $("submit").disabled = false;
    }
  }

  $("signin").addEventListener("click", async () => {
    $("signin").disabled = true;
    try {
      const res = await fetch("/api/gemini/oauth-config", { headers: { accept: "application/json" } });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(res.status === 503 ? "Donations are not available on this server right now." : errorMessage(body, res.status));
      pendingState = body.state;
      const popup = window.open(body.authorizeUrl, "gemini-oauth", "width=600,height=700");
      const note = $("signin-note");
      note.classList.remove("hidden");
      note.textContent = popup
        ? "A sign-in window is open. When it lands on an error page, copy its address and paste it below."
        : "The sign-in window was blocked. Allow pop-ups for this site and try again.";
    } catch (e) {
      banner("err", e.message || String(e));
    } finally {
      $("signin").disabled = false;
    }
  });

  $("submit").addEventListener("click", () => {
    const url = $("pasted").value.trim();
    if (!url) { banner("err", "Paste the address Google redirected to first."); return; }
    submit({ url });
  });

  // The optional landing page (/oauth-callback-page) reports back here; only our own origin is trusted.
  window.addEventListener("message", (event) => {
    if (event.origin !== window.location.origin) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.type === "oauth-success" && typeof data.code === "string") {
      submit({ code: data.code, state: typeof data.state === "string" ? data.state : pendingState });
    } else if (data.type === "oauth-error") {
      banner("err", "Google did not authorize the account: " + String(data.error || "unknown error"));
    }
  });

  const params = new URLSearchParams(window.location.search);
  if (params.get("success") === "true") banner("ok", "Account added. Thank you!");
  else if (params.get("error")) banner("err", params.get("error"));
  if (params.has("success") || params.has("error")) history.replaceState(null, "", window.location.pathname);

  loadAccounts();
  setInterval(loadAccounts, 30000);
  setInterval(() => {
    for (const cell of document.querySelectorAll("td[data-reset]")) cell.textContent = countdown(cell.dataset.reset);
  }, 1000);
})();
