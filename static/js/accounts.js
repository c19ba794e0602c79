// The Accounts view: a sortable, filterable table of the pool with status countdowns, success rates and
// requests today, the last error, what the upstream says is left, bulk actions and an edit form per account
// (account_edit.js). Every action updates the rows it changed without reloading the page.
import { $, h, setMsg } from "./dom.js";
import { inFormWords } from "./api.js";
import { accountEditForm, fieldLabels } from "./account_edit.js";
import { fmtAgo, fmtDuration, fmtInt, fmtTime } from "./format.js";

/** Sorts by the last day's success rate, then the last hour's; accounts without requests come first. */
function successKey(a) {
  if (!a) return -11;
  const day = a.day.success_rate ?? -1;
  const hour = a.hour.success_rate ?? -1;
  return day * 10 + hour;
}

const STATUS_ORDER = { active: 0, cooldown: 1, parked: 2, disabled: 3 };

/** When the account's current state ends (epoch ms), or null. */
function stateEnds(account) {
  const at = account.status === "cooldown" ? account.cooldown_until : account.status === "parked" ? account.parked_until : null;
  if (at === null || at === undefined) return null;
  const t = new Date(at).getTime();
  return Number.isNaN(t) ? null : t;
}

export function createAccountsView({ api, refreshReady }) {
  let accounts = [];
  /** Account id -> its requests and success rates (last hour, last day, today), from one request for all. */
  let activity = new Map();
  const selected = new Set();
  const editing = new Set();
  let sort = { key: "label", dir: 1 };

  const COLUMNS = [
    ["label", "Account", (a) => (a.label || a.id).toLowerCase()],
    ["status", "Status", (a) => STATUS_ORDER[a.status] ?? 9],
    ["success", "Success 1 h / 24 h", (a) => successKey(activity.get(a.id))],
    ["today", "Today", (a) => activity.get(a.id)?.today_requests ?? 0],
    ["last_used_at", "Last used", (a) => a.last_used_at ? new Date(a.last_used_at).getTime() : 0],
    ["last_error", "Last error", (a) => a.last_error || ""],
    ["weight", "Weight", (a) => a.weight],
  ];

  async function load() {
    try {
      const [list] = await Promise.all([api("GET", "/v2/accounts"), loadActivity()]);
      accounts = list.data;
      for (const id of [...selected]) if (!accounts.some((a) => a.id === id)) selected.delete(id);
      render();
    } catch (error) {
      setMsg("acc-msg", error.message, "error");
    }
  }

  /** Every account's recent requests in one call; "today" is the viewer's local day. */
  async function loadActivity() {
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    // Just after a daylight-saving change the local midnight can lie more than 24 h back.
    const todayStart = Math.max(midnight.getTime(), Date.now() - 86_400_000 + 60_000);
    try {
      const { data } = await api("GET", `/v2/accounts/activity?today_start=${todayStart}`);
      activity = new Map(data.accounts.map((row) => [row.account_id, row]));
    } catch {
      // The columns show "–"; the error, if any, shows on the next action.
    }
  }

  function replace(updated) {
    const index = accounts.findIndex((a) => a.id === updated.id);
    if (index >= 0) accounts[index] = updated;
    else accounts.push(updated);
    render();
  }

  async function reloadOne(id) {
    try {
      const [{ data }] = await Promise.all([api("GET", `/v2/accounts/${encodeURIComponent(id)}`), loadActivity()]);
      replace(data);
    } catch {
      // Deleted meanwhile: the next load drops it.
    }
  }

  function shown() {
    const type = $("acc-filter-type").value;
    const state = $("acc-filter-status").value;
    const query = $("acc-search").value.trim().toLowerCase();
    const column = COLUMNS.find(([key]) => key === sort.key) ?? COLUMNS[0];
    return accounts
      .filter((a) =>
        (!type || a.type === type) && (!state || a.status === state) &&
        (!query || (a.label || "").toLowerCase().includes(query) || a.id.toLowerCase().includes(query))
      )
      .sort((x, y) => {
        const a = column[2](x), b = column[2](y);
        return (a < b ? -1 : a > b ? 1 : 0) * sort.dir;
      });
  }

  function render() {
    // A live refresh must not throw away what the admin is typing into an edit form.
    const list = shown();
    $("acc-count").textContent = `${list.length} of ${accounts.length} accounts` +
      (selected.size ? ` · ${selected.size} selected` : "");
    const allBox = h("input", {
      type: "checkbox",
      title: "Select all shown",
      checked: list.length > 0 && list.every((a) => selected.has(a.id)),
      onchange: (e) => {
        for (const a of list) e.currentTarget.checked ? selected.add(a.id) : selected.delete(a.id);
        render();
      },
    });
    const head = h("tr", {}, h("th", { class: "narrow-col" }, allBox), COLUMNS.map(([key, title, , extra]) =>
      h("th", {
        class: "sortable" + (sort.key === key ? " sorted" : "") + (extra ? " " + extra : ""),
        attrs: { "aria-sort": sort.key === key ? (sort.dir > 0 ? "ascending" : "descending") : "none" },
        onclick: () => {
          sort = { key, dir: sort.key === key ? -sort.dir : 1 };
          render();
        },
      }, title, sort.key === key ? (sort.dir > 0 ? " ▲" : " ▼") : "")
    ), h("th", {}, ""));
    const body = [];
    for (const account of list) {
      body.push(row(account));
      if (editing.has(account.id)) body.push(editRow(account));
    }
    if (list.length === 0) {
      body.push(h("tr", {}, h("td", { colSpan: COLUMNS.length + 2, class: "muted" },
        accounts.length ? "No account matches the filters." : "No accounts yet: add one under “Add account” or “Device login”.")));
    }
    const previous = $("acc-table");
    const focused = document.activeElement && previous.contains(document.activeElement) ? document.activeElement.id : null;
    const keep = new Map();
    for (const form of previous.querySelectorAll("tr.edit-row")) keep.set(form.dataset.id, form);
    const table = h("table", { id: "acc-table", class: "accounts card-rows" }, h("thead", {}, head), h("tbody", {}, body));
    // Edit rows being typed into are carried over as they are.
    for (const fresh of table.querySelectorAll("tr.edit-row")) {
      const old = keep.get(fresh.dataset.id);
      if (old) fresh.replaceWith(old);
    }
    previous.replaceWith(table);
    if (focused && $(focused)) $(focused).focus();
    $("acc-bulk").classList.toggle("hidden", selected.size === 0);
  }

  /** "100 % / 97.5 %" with the failures under it; "–" for a period without a decided request. */
  function successCell(account) {
    const a = activity.get(account.id);
    if (!a) return ["–"];
    const rate = (p) => (p.success_rate === null ? "–" : `${(100 * p.success_rate).toFixed(p.success_rate === 1 ? 0 : 1)} %`);
    const cls = (p) => (p.success_rate === null ? "" : p.success_rate >= 0.95 ? "rate-good" : p.success_rate >= 0.8 ? "rate-warn" : "rate-bad");
    return [
      h("span", { class: cls(a.hour), title: `last hour: ${a.hour.successes} succeeded, ${a.hour.failures} failed of ${a.hour.requests}` }, rate(a.hour)),
      " / ",
      h("span", { class: cls(a.day), title: `last 24 h: ${a.day.successes} succeeded, ${a.day.failures} failed of ${a.day.requests}` }, rate(a.day)),
      a.day.failures ? h("div", { class: "muted" }, `${fmtInt(a.day.failures)} failed in 24 h`) : null,
    ];
  }

  function statusCell(account) {
    const ends = stateEnds(account);
    const chip = h("span", { class: "chip " + account.status }, account.status);
    const parts = [chip];
    if (ends !== null) parts.push(h("div", { class: "muted", dataset: { until: String(ends) } }, `ends in ${fmtDuration(ends - Date.now())}`));
    const quota = quotaSummary(account);
    if (quota) parts.push(h("div", { class: "muted" }, quota));
    if (account.status === "disabled" && account.disabled_reason) {
      parts.push(h("div", { class: "muted reason" }, account.disabled_reason));
    }
    return parts;
  }

  /** The account's last error, and when its latest failed request of the last day was made. */
  function lastErrorCell(account) {
    const failedAt = activity.get(account.id)?.last_failure_at ?? null;
    if (!account.last_error && !failedAt) return "–";
    return [
      account.last_error ? h("span", { title: account.last_error }, account.last_error) : null,
      failedAt ? h("div", { class: "muted failed-at" }, `last failed request ${fmtAgo(failedAt)}`) : null,
    ];
  }

  /**
   * What the upstream says is left: Amazon Q's allowance, or Gemini's lowest remaining quota over the
   * models it reported, with the reset.
   */
  function quotaSummary(account) {
    // Amazon Q: the monthly allowance the upstream reports (read hourly by the server).
    const allowance = account.allowance;
    if (allowance && typeof allowance.remaining === "number") {
      const reset = Date.parse(allowance.resets_at ?? "");
      return `allowance ${fmtInt(allowance.remaining)} of ${fmtInt(allowance.limit)} left` +
        (Number.isFinite(reset) && reset > Date.now() ? ` · resets in ${fmtDuration(reset - Date.now())}` : "");
    }
    const quota = account.other?.quota;
    if (!quota || typeof quota !== "object") return null;
    const models = Object.values(quota).filter((q) => q && typeof q.remainingFraction === "number");
    if (models.length === 0) return null;
    const lowest = Math.min(...models.map((q) => q.remainingFraction));
    const resets = models.map((q) => Date.parse(q.resetTime)).filter((t) => Number.isFinite(t) && t > Date.now());
    const reset = resets.length ? ` · resets in ${fmtDuration(Math.min(...resets) - Date.now())}` : "";
    return `quota left ≥ ${Math.floor(lowest * 100)} %${reset}`;
  }

  function enabledSwitch(account) {
    const input = h("input", {
      type: "checkbox",
      checked: account.enabled,
      id: `acc-enabled-${account.id}`,
      onchange: () => patch(account, { enabled: input.checked }),
    });
    return h("label", { class: "switch", title: "Enabled" }, input, h("span", {}, account.enabled ? "on" : "off"));
  }

  function row(account) {
    const box = h("input", {
      type: "checkbox",
      checked: selected.has(account.id),
      attrs: { "aria-label": `Select ${account.label || account.id}` },
      onchange: (e) => {
        e.currentTarget.checked ? selected.add(account.id) : selected.delete(account.id);
        render();
      },
    });
    const msg = h("div", { class: "msg", id: `acc-msg-${account.id}` });
    const action = (title, fn, cls = "") =>
      h("button", { type: "button", class: cls, onclick: (e) => fn(account, msg, e.currentTarget) }, title);
    const actions = [action(editing.has(account.id) ? "Close" : "Edit", toggleEdit), action("Test", testAccount)];
    if (account.type !== "custom_api") actions.push(action("Refresh token", refreshToken));
    if (account.status === "cooldown" || account.status === "parked") {
      actions.push(action("Clear cooldown", (a) => patch(a, { clear_cooldown: true }, "Cooldown cleared.")));
    }
    actions.push(action("Delete", remove, "danger"));
    const refreshNote = account.type === "custom_api"
      ? null
      : h("div", { class: "muted" }, `token ${account.last_refresh_status ?? "never refreshed"} · ${fmtAgo(account.last_refresh_time)}`);
    return h("tr", { dataset: { id: account.id }, class: "account-row" },
      h("td", { class: "narrow-col" }, box),
      h("td", {},
        h("div", { class: "account-name" }, account.label || "(no label)"),
        h("div", { class: "row tight" }, h("span", { class: "chip " + account.type }, account.type), enabledSwitch(account)),
        h("div", { class: "muted mono" }, account.id.slice(0, 8))),
      h("td", { dataset: { label: "Status" } }, statusCell(account)),
      h("td", { class: "success", dataset: { label: "Success 1 h / 24 h" } }, successCell(account)),
      h("td", { class: "today", dataset: { label: "Today" } }, fmtInt(activity.get(account.id)?.today_requests ?? 0)),
      h("td", { class: "last-used", dataset: { label: "Last used" } }, fmtAgo(account.last_used_at), refreshNote),
      h("td", { class: "last-error", dataset: { label: "Last error" } }, lastErrorCell(account)),
      h("td", { dataset: { label: "Weight" } }, `${account.weight}`, h("div", { class: "muted" },
        `${account.rate_limit_per_hour ? account.rate_limit_per_hour + "/h" : "no hourly limit"}`)),
      h("td", { class: "actions" }, h("div", { class: "row tight" }, actions), msg),
    );
  }

  function editRow(account) {
    const form = accountEditForm(account, {
      onSave: (body, msg) => patch(account, body, `Saved ${account.label || account.id}.`, msg, true),
      onCancel: () => toggleEdit(account),
    });
    return h("tr", { class: "edit-row", dataset: { id: account.id } }, h("td", { colSpan: COLUMNS.length + 2 }, form));
  }

  function toggleEdit(account) {
    editing.has(account.id) ? editing.delete(account.id) : editing.add(account.id);
    render();
  }

  async function patch(account, body, note, msg, closeForm = false) {
    try {
      const { data } = await api("PATCH", `/v2/accounts/${encodeURIComponent(account.id)}`, body);
      if (closeForm) editing.delete(account.id);
      replace(data);
      refreshReady();
      if (note) setMsg("acc-msg", note, "ok");
    } catch (error) {
      const text = inFormWords(error.message, fieldLabels(account.type));
      if (msg && msg.isConnected) setMsg(msg, text, "error");
      else {
        render();
        setMsg("acc-msg", `${account.label || account.id}: ${text}`, "error");
      }
    }
  }

  async function remove(account) {
    if (!confirm(`Delete account "${account.label || account.id}"?`)) return;
    try {
      await api("DELETE", `/v2/accounts/${encodeURIComponent(account.id)}`);
      accounts = accounts.filter((a) => a.id !== account.id);
      selected.delete(account.id);
      editing.delete(account.id);
      render();
      refreshReady();
      setMsg("acc-msg", `Deleted ${account.label || account.id}.`, "ok");
    } catch (error) {
      setMsg("acc-msg", error.message, "error");
    }
  }

  async function refreshToken(account, msg, button) {
    button.disabled = true;
    setMsg(msg, "Refreshing…");
    try {
      const { data } = await api("POST", `/v2/accounts/${encodeURIComponent(account.id)}/refresh`);
      replace(data);
      setMsg(`acc-msg-${account.id}`, `Token refreshed (${data.last_refresh_status}).`, "ok");
    } catch (error) {
      await reloadOne(account.id);
      setMsg($(`acc-msg-${account.id}`) ?? "acc-msg", error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  /** One test call; resolves to [ok, text]. */
  async function runTest(account) {
    if (account.type === "custom_api") {
      const { data } = await api("POST", `/v2/accounts/${encodeURIComponent(account.id)}/test`);
      return data.ok
        ? [true, `OK (${data.status}): ${data.preview || "(empty reply)"}`]
        : [false, `Failed (${data.status}): ${data.error || "unknown error"}`];
    }
    const model = account.type === "gemini" ? $("acc-test-model-gemini").value.trim() : $("acc-test-model-amazonq").value.trim();
    const { data } = await api("POST", "/v1/messages", {
      model,
      max_tokens: 50,
      stream: false,
      messages: [{ role: "user", content: $("acc-test-message").value || "Hello" }],
    }, { "x-account-id": account.id, "x-test-mode": "true" });
    const text = (data.content || []).filter((b) => b.type === "text").map((b) => b.text).join("");
    return [true, `OK (${data.model}, ${data.stop_reason}): ${text || "(no text)"}`];
  }

  async function testAccount(account, msg, button) {
    button.disabled = true;
    setMsg(msg, "Testing…");
    let result;
    try {
      result = await runTest(account);
    } catch (error) {
      result = [false, error.message];
    }
    // The test changed "Last used", perhaps the status: show the account as it is now.
    await reloadOne(account.id);
    setMsg($(`acc-msg-${account.id}`) ?? "acc-msg", result[1], result[0] ? "ok" : "error");
    button.disabled = false;
  }

  async function bulk(kind) {
    const chosen = accounts.filter((a) => selected.has(a.id));
    if (chosen.length === 0) return;
    if (kind === "delete" && !confirm(`Delete ${chosen.length} account(s)?`)) return;
    setMsg("acc-msg", `${kind} · ${chosen.length} account(s)…`);
    const failures = [];
    let done = 0;
    for (const account of chosen) {
      try {
        if (kind === "enable" || kind === "disable") {
          await api("PATCH", `/v2/accounts/${encodeURIComponent(account.id)}`, { enabled: kind === "enable" });
        } else if (kind === "delete") {
          await api("DELETE", `/v2/accounts/${encodeURIComponent(account.id)}`);
          selected.delete(account.id);
        } else if (kind === "test") {
          const [ok, text] = await runTest(account);
          if (!ok) throw new Error(text);
        }
        done++;
      } catch (error) {
        failures.push(`${account.label || account.id}: ${error.message}`);
      }
    }
    await load();
    refreshReady();
    const verb = { enable: "Enabled", disable: "Disabled", delete: "Deleted", test: "Tested OK" }[kind];
    setMsg("acc-msg", `${verb} ${done} of ${chosen.length}.` + (failures.length ? "\n" + failures.join("\n") : ""),
      failures.length ? "error" : "ok");
  }

  async function refreshAll(event) {
    const button = event.currentTarget;
    button.disabled = true;
    setMsg("acc-msg", "Refreshing tokens…");
    try {
      const { data } = await api("POST", "/v2/accounts/refresh-all");
      const failures = data.results.filter((r) => r.status !== "success")
        .map((r) => `${r.label || r.id}: ${r.status}${r.message ? " — " + r.message : ""}`);
      setMsg(
        "acc-msg",
        `Refreshed ${data.success_count} of ${data.total}; failed ${data.failed_count}, banned ${data.banned_count}.` +
          (failures.length ? "\n" + failures.join("\n") : ""),
        data.failed_count + data.banned_count > 0 ? "error" : "ok",
      );
      await load();
    } catch (error) {
      setMsg("acc-msg", error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  /** Counts the cooldown and parking countdowns down every second. */
  function tick() {
    for (const node of document.querySelectorAll("#acc-table [data-until]")) {
      const left = Number(node.dataset.until) - Date.now();
      node.textContent = left > 0 ? `ends in ${fmtDuration(left)}` : "ending…";
    }
  }

  for (const id of ["acc-filter-type", "acc-filter-status"]) $(id).addEventListener("change", render);
  $("acc-search").addEventListener("input", render);
  $("acc-reload").addEventListener("click", () => {
    setMsg("acc-msg", "");
    load();
    refreshReady();
  });
  $("acc-refresh-all").addEventListener("click", refreshAll);
  for (const kind of ["enable", "disable", "test", "delete"]) {
    $(`acc-bulk-${kind}`).addEventListener("click", () => bulk(kind));
  }

  return {
    load,
    tick,
    /** Live refresh: skipped while an edit form is open (typing must not be interrupted). */
    refresh: () => (editing.size === 0 ? load() : Promise.resolve()),
    accounts: () => accounts,
    fmtTime,
  };
}
