// The edit form of one account: every field of its type, validation messages in the form's words
// (`fieldLabels`), and only what changed is sent. Secrets are write-only: the list shows them masked, the
// field stays empty, and only a typed value replaces the stored one.
import { h, setMsg } from "./dom.js";

/** API field -> the edit form's label, per account type (validation messages use the form's words). */
export function fieldLabels(type) {
  const secret = type === "custom_api" ? "API key" : "Client secret";
  return {
    label: "Label",
    proxy: "Proxy",
    weight: "Weight",
    rate_limit_per_hour: "Requests per hour",
    max_inflight: "Max in flight",
    clientId: "Client ID",
    clientSecret: secret,
    refreshToken: "Refresh token",
    accessToken: "Access token",
    other: "Settings",
    "other.api_base": "API base URL",
    "other.model": "Upstream model",
    "other.format": "Format",
    "other.provider": "Provider",
    "other.project": "Project ID",
    "other.api_endpoint": "API endpoint",
  };
}

function field(id, label, input) {
  input.id = id;
  return h("div", {}, h("label", { htmlFor: id }, label), input);
}

/**
 * The edit form of one account: every field of its type. `onSave(body, msg)` gets the changes (nothing
 * when nothing changed) and the form's message element; `onCancel()` closes it.
 */
export function accountEditForm(account, { onSave, onCancel }) {
  const other = account.other || {};
  const p = `edit-${account.id}-`;
  const text = (name, value, extra = {}) => h("input", { type: "text", name, value: value ?? "", ...extra });
  const number = (name, value, min, max) => h("input", { type: "number", name, value: String(value ?? 0), min, ...(max ? { max } : {}) });
  // Secrets: the list shows them masked; the field stays empty and only a typed value replaces the stored one.
  const secret = (name, masked) =>
    h("input", { type: "password", name, autocomplete: "off", placeholder: masked ? `unchanged (${masked})` : "not set" });
  const fields = [
    field(p + "label", "Label", text("label", account.label, { maxLength: 200 })),
    // The list shows the proxy without its credentials: retype them when changing it; empty = direct.
    field(p + "proxy", "Proxy (http://, https://, socks5://; empty = none)", text("proxy", account.proxy, { placeholder: "none" })),
    field(p + "weight", "Weight (1–1000)", number("weight", account.weight, 1, 1000)),
    field(p + "rate", "Requests per hour (0 = no limit)", number("rate_limit_per_hour", account.rate_limit_per_hour, 0)),
    field(p + "inflight", "Max in flight (0 = no cap)", number("max_inflight", account.max_inflight, 0)),
  ];
  if (account.type === "custom_api") {
    fields.push(
      field(p + "api-key", "API key", secret("clientSecret", account.clientSecret)),
      field(p + "api-base", "API base URL", text("other.api_base", other.api_base, { type: "url" })),
      field(p + "model", "Upstream model", text("other.model", other.model)),
      field(p + "format", "Format", h("select", { name: "other.format" },
        ["openai", "claude"].map((v) => h("option", { value: v, selected: (other.format || "openai") === v }, v)))),
      field(p + "provider", "Provider", h("select", { name: "other.provider" },
        ["", "openai", "azure", "anthropic", "other"].map((v) => h("option", { value: v, selected: (other.provider || "") === v }, v || "default")))),
    );
  } else {
    fields.push(
      field(p + "client-id", "Client ID", text("clientId", account.clientId)),
      field(p + "client-secret", "Client secret", secret("clientSecret", account.clientSecret)),
      field(p + "refresh", "Refresh token", secret("refreshToken", account.refreshToken)),
      field(p + "access", "Access token", secret("accessToken", account.accessToken)),
    );
    if (account.type === "gemini") {
      fields.push(
        field(p + "project", "Project ID", text("other.project", other.project)),
        field(p + "endpoint", "API endpoint", text("other.api_endpoint", other.api_endpoint, { type: "url" })),
      );
    }
  }
  const msg = h("div", { class: "msg" });
  const form = h("form", {
    class: "edit-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = editPatch(account, form);
      if (Object.keys(body).length === 0) {
        setMsg(msg, "Nothing changed.");
        return;
      }
      await onSave(body, msg);
    },
  }, h("div", { class: "grid" }, fields), h("div", { class: "row mt8" },
    h("button", { type: "submit", class: "primary" }, "Save"),
    h("button", { type: "button", onclick: onCancel }, "Cancel")), msg);
  return form;
}

/** The fields of the edit form that differ from the account (typed secrets only). */
function editPatch(account, form) {
  const body = {};
  const other = {};
  for (const input of form.querySelectorAll("[name]")) {
    const name = input.name;
    const raw = input.value.trim();
    if (input.type === "password") {
      if (raw) body[name] = raw;
      continue;
    }
    if (name.startsWith("other.")) {
      const key = name.slice(6);
      const was = account.other?.[key] ?? "";
      if (raw !== String(was)) other[key] = raw === "" ? null : raw;
      continue;
    }
    if (input.type === "number") {
      if (Number(raw) !== account[name]) body[name] = Number(raw);
      continue;
    }
    if (raw !== (account[name] ?? "")) body[name] = raw === "" ? null : raw;
  }
  if (Object.keys(other).length) body.other = other;
  return body;
}
