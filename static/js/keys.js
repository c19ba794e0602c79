// The Client keys view: create (the key is shown once), revoke, edit each key's rules and limits, and see
// what each key used of its limits and has left in the current windows.
// Creating the first key ends key-less access for clients on this machine: the view warns before that.
import { $, h, setMsg } from "./dom.js";
import { HttpError, inFormWords } from "./api.js";
import { fmtAgo, fmtInt, fmtTime, fmtUsd } from "./format.js";

const LIMIT_FIELDS = [
  ["requests_per_minute", "Requests per minute", "int"],
  ["tokens_per_day", "Tokens per day", "int"],
  ["tokens_per_month", "Tokens per month", "int"],
  ["cost_per_day_usd", "Cost per day (USD)", "usd"],
  ["cost_per_month_usd", "Cost per month (USD)", "usd"],
  ["max_concurrency", "Max concurrent requests", "int"],
];

/** Limit field -> the usage/remaining window it is counted in (`max_concurrency` has none). */
const BUDGET_WINDOWS = {
  requests_per_minute: "requests_this_minute",
  tokens_per_day: "tokens_today",
  tokens_per_month: "tokens_this_month",
  cost_per_day_usd: "cost_today_usd",
  cost_per_month_usd: "cost_this_month_usd",
};

const LABELS = {
  name: "Name",
  label: "Name",
  enabled: "Enabled",
  expires_at: "Expires",
  allowed_models: "Allowed models",
  allowed_channels: "Allowed channels",
  note: "Note",
  ...Object.fromEntries(LIMIT_FIELDS.map(([key, label]) => [key, label])),
};

export const FIRST_KEY_WARNING = "This is the first client key. From now on every client must send a key — " +
  "also clients on this machine (127.0.0.1), which the server serves without a key until a key exists. " +
  "Update Claude Code and other local clients with the new key.";

export function createKeysView({ api }) {
  let keys = [];
  const open = new Set();

  async function load() {
    try {
      keys = (await api("GET", "/v2/keys")).data;
      render();
    } catch (error) {
      setMsg("key-msg", error.message, "error");
    }
  }

  const keyName = (key) => key.name ?? key.label ?? null;

  function render() {
    $("key-first-warning").classList.toggle("hidden", keys.length > 0);
    const rows = [];
    for (const key of keys) {
      const state = key.enabled === false ? "disabled" : key.expires_at && new Date(key.expires_at).getTime() < Date.now()
        ? "expired"
        : "active";
      rows.push(h("tr", { dataset: { id: key.id } },
        h("td", {}, h("div", { class: "account-name" }, keyName(key) || "–"),
          h("div", { class: "muted mono" }, key.source === "env" ? "from API_KEY" : key.prefix + "…")),
        h("td", { dataset: { label: "State" } }, h("span", { class: "chip " + (state === "active" ? "active" : "disabled") }, state)),
        h("td", { class: "hide-narrow", dataset: { label: "Created" } }, fmtTime(key.created_at)),
        h("td", { dataset: { label: "Last used" } }, fmtAgo(key.last_used_at)),
        h("td", { class: "limits", dataset: { label: "Limits" } }, limitsCell(key)),
        // Keys from API_KEY live in the server's configuration: the API can neither edit nor revoke them.
        h("td", { class: "actions" }, key.editable === false ? h("span", { class: "muted" }, "set in the configuration") : h("div", { class: "row tight" },
          h("button", { type: "button", onclick: () => toggle(key) }, open.has(key.id) ? "Close" : "Limits"),
          h("button", { type: "button", class: "danger", onclick: () => revoke(key) }, "Revoke"))),
      ));
      if (open.has(key.id)) rows.push(limitsRow(key));
    }
    if (keys.length === 0) {
      rows.push(h("tr", {}, h("td", { colSpan: 6, class: "muted" }, "No client keys yet.")));
    }
    $("key-list").replaceChildren(...rows);
  }

  /**
   * Each limit with what the key used of it in the current window and what is left; without limits, the
   * day's use. Keys from API_KEY are unlimited and not counted.
   */
  function limitsCell(key) {
    if (key.source === "env") return h("span", { class: "muted" }, "unlimited (API_KEY)");
    const u = key.usage ?? {};
    const r = key.remaining ?? {};
    const lines = [];
    for (const [field, label, kind] of LIMIT_FIELDS) {
      const limit = key[field];
      if (limit === null || limit === undefined) continue;
      const fmt = kind === "usd" ? fmtUsd : fmtInt;
      const window = BUDGET_WINDOWS[field];
      lines.push(h("div", { class: "budget" }, `${label}: ${fmt(limit)}`, window
        ? h("span", { class: "muted" }, ` · used ${fmt(u[window])}, ${fmt(r[window])} left`)
        : null));
    }
    if (lines.length === 0) lines.push(h("div", { class: "muted" }, "no limits"));
    lines.push(h("div", { class: "muted" }, `today: ${fmtInt(u.tokens_today)} tokens, ${fmtUsd(u.cost_today_usd)}` +
      (u.in_flight_here ? ` · ${fmtInt(u.in_flight_here)} in flight` : "")));
    return lines;
  }

  function toggle(key) {
    open.has(key.id) ? open.delete(key.id) : open.add(key.id);
    render();
  }

  function limitsRow(key) {
    const msg = h("div", { class: "msg" });
    const p = `key-${key.id}-`;
    const input = (name, label, props) => {
      const node = h("input", { name, id: p + name, ...props });
      return h("div", {}, h("label", { htmlFor: p + name }, label), node);
    };
    const list = (value) => (Array.isArray(value) ? value.join(", ") : "");
    const expires = key.expires_at ? new Date(key.expires_at).toISOString().slice(0, 16) : "";
    const form = h("form", {
      class: "edit-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = {};
        for (const node of form.querySelectorAll("[name]")) {
          const value = node.value.trim();
          if (node.type === "checkbox") body[node.name] = node.checked;
          else if (node.name === "allowed_models" || node.name === "allowed_channels") {
            body[node.name] = value ? value.split(/\s*,\s*/).filter(Boolean) : [];
          } else if (node.name === "expires_at") body.expires_at = value ? new Date(value + "Z").toISOString() : null;
          else if (node.name === "name" || node.name === "note") body[node.name] = value || null;
          else body[node.name] = value === "" ? null : Number(value);
        }
        try {
          const { data } = await api("PATCH", `/v2/keys/${encodeURIComponent(key.id)}`, body);
          keys = keys.map((k) => (k.id === key.id ? { ...k, ...data } : k));
          open.delete(key.id);
          render();
          setMsg("key-msg", `Saved ${keyName(data) || key.prefix}.`, "ok");
        } catch (error) {
          setMsg(msg, error instanceof HttpError ? inFormWords(error.message, LABELS) : String(error), "error");
        }
      },
    },
    h("div", { class: "grid" },
      input("name", "Name", { type: "text", value: keyName(key) ?? "", maxLength: 200 }),
      h("div", {}, h("label", { htmlFor: p + "enabled" }, "Enabled"),
        h("label", { class: "switch" }, h("input", { type: "checkbox", name: "enabled", id: p + "enabled", checked: key.enabled !== false }), "accepts requests")),
      input("expires_at", "Expires (UTC, empty = never)", { type: "datetime-local", value: expires }),
      input("allowed_models", "Allowed models (comma-separated, * patterns; empty = all)", { type: "text", value: list(key.allowed_models) }),
      input("allowed_channels", "Allowed channels (amazonq, gemini, custom_api; empty = all)", { type: "text", value: list(key.allowed_channels) }),
      LIMIT_FIELDS.map(([field, label, kind]) =>
        input(field, `${label} (empty = no limit)`, {
          type: "number",
          min: 0,
          step: kind === "usd" ? "0.01" : "1",
          value: key[field] === null || key[field] === undefined ? "" : String(key[field]),
        })
      ),
      input("note", "Note", { type: "text", value: key.note ?? "" }),
    ),
    h("div", { class: "row mt8" }, h("button", { type: "submit", class: "primary" }, "Save limits"),
      h("button", { type: "button", onclick: () => toggle(key) }, "Cancel")),
    msg);
    return h("tr", { class: "edit-row" }, h("td", { colSpan: 6 }, form));
  }

  async function revoke(key) {
    if (!confirm(`Revoke key "${keyName(key) || key.prefix}"? Clients using it stop working.`)) return;
    try {
      await api("DELETE", `/v2/keys/${encodeURIComponent(key.id)}`);
      keys = keys.filter((k) => k.id !== key.id);
      render();
      setMsg("key-msg", "Key revoked.", "ok");
    } catch (error) {
      setMsg("key-msg", error.message, "error");
    }
  }

  async function create() {
    if (keys.length === 0 && !confirm(FIRST_KEY_WARNING)) return;
    try {
      const label = $("key-label").value.trim() || null;
      const { data } = await api("POST", "/v2/keys", { label });
      const box = $("key-new");
      const copy = h("button", {
        type: "button",
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(data.key);
            copy.textContent = "Copied";
          } catch {
            copy.textContent = "Copy failed: select the key";
          }
        },
      }, "Copy");
      box.replaceChildren(
        h("div", {}, h("strong", {}, "New key — shown only now:")),
        h("div", { class: "mono key-value", id: "key-new-value" }, data.key),
        h("div", { class: "row" }, copy, h("button", { type: "button", onclick: () => box.classList.add("hidden") }, "Done")),
      );
      box.classList.remove("hidden");
      $("key-label").value = "";
      setMsg("key-msg", "");
      await load();
    } catch (error) {
      setMsg("key-msg", error.message, "error");
    }
  }

  $("key-create").addEventListener("click", create);
  return {
    load,
    /** Live refresh: skipped while a limits form is open (typing must not be interrupted). */
    refresh: () => (open.size === 0 ? load() : Promise.resolve()),
    keys: () => keys,
  };
}
