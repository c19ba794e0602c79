import { $, h as el, setMsg } from "./dom.js";

// Everything is built with createElement/textContent: account labels, upstream test replies and server
// messages are data, never markup. No token is kept in storage: the session is an HttpOnly cookie.
class HttpError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Calls the API with the session cookie; throws HttpError with the server's `error.message`. */
async function api(method, path, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { ...headers } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && data.error && typeof data.error.message === "string"
      ? data.error.message
      : `HTTP ${response.status}`;
    if ((response.status === 401 || response.status === 403) && path.startsWith("/v2/")) {
      showAuthScreen();
    }
    throw new HttpError(response.status, message, data);
  }
  return { status: response.status, data };
}

const fmtInt = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");
const fmtTime = (value) => {
  if (value === null || value === undefined || value === "") return "–";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
};

// ---------- screens ----------
function show(screen) {
  for (const id of ["setup-screen", "login-screen", "console"]) $(id).classList.toggle("hidden", id !== screen);
  $("header").classList.toggle("hidden", screen !== "console");
}

let lockTimer = null;
async function showAuthScreen() {
  let status;
  try {
    status = (await api("GET", "/api/admin/status")).data;
  } catch (error) {
    show("login-screen");
    setMsg("login-msg", error.message, "error");
    return;
  }
  if (status.needSetup) {
    show("setup-screen");
    return;
  }
  show("login-screen");
  clearInterval(lockTimer);
  if (status.locked) {
    let remaining = status.lockRemaining;
    const tick = () => {
      setMsg("login-msg", `Too many failed sign-ins from this address. Try again in ${remaining} s.`, "error");
      if (remaining-- <= 0) {
        clearInterval(lockTimer);
        setMsg("login-msg", "");
      }
    };
    tick();
    lockTimer = setInterval(tick, 1000);
  }
}

async function start() {
  try {
    await api("GET", "/v2/accounts");
    enterConsole();
  } catch (error) {
    if (!(error instanceof HttpError) || (error.status !== 401 && error.status !== 403)) {
      show("login-screen");
      setMsg("login-msg", error.message, "error");
    }
  }
}

$("setup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("setup-username").value.trim();
  const password = $("setup-password").value;
  const confirmPassword = $("setup-confirm").value;
  if (password !== confirmPassword) {
    setMsg("setup-msg", "The passwords do not match.", "error");
    return;
  }
  try {
    await api("POST", "/api/admin/setup", { username, password, confirmPassword });
    $("login-username").value = username;
    setMsg("setup-msg", "");
    await showAuthScreen();
    setMsg("login-msg", "Admin created. Sign in.", "ok");
  } catch (error) {
    setMsg("setup-msg", error.message, "error");
  }
});

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    // The response also carries the token (for scripts); the page relies on the HttpOnly cookie only.
    await api("POST", "/api/admin/login", { username: $("login-username").value.trim(), password: $("login-password").value });
    $("login-password").value = "";
    setMsg("login-msg", "");
    enterConsole();
  } catch (error) {
    setMsg("login-msg", error.message, "error");
  }
});

$("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/api/admin/logout");
  } catch {
    // Already logged out.
  }
  stopDevicePolling();
  await showAuthScreen();
});

// ---------- tabs ----------
const TABS = [
  ["accounts", "Accounts"],
  ["add", "Add account"],
  ["transfer", "Import / export"],
  ["device", "Device login"],
  ["keys", "Client keys"],
  ["config", "Routing"],
  ["usage", "Usage"],
];
const loaders = {};
function selectTab(name) {
  for (const button of $("tabs").children) button.classList.toggle("active", button.dataset.tab === name);
  for (const pane of document.querySelectorAll("#console > [data-tab]")) pane.classList.toggle("hidden", pane.dataset.tab !== name);
  if (loaders[name]) loaders[name]();
}
for (const [name, title] of TABS) {
  $("tabs").append(el("button", { type: "button", dataset: { tab: name }, onclick: () => selectTab(name) }, title));
}

function enterConsole() {
  show("console");
  refreshReady();
  selectTab("accounts");
}

async function refreshReady() {
  const chip = $("ready");
  try {
    const response = await fetch("/ready", { credentials: "same-origin" });
    const data = await response.json();
    chip.textContent = response.ok ? `ready · ${data.usable_accounts} usable of ${data.total_accounts}` : `not ready · ${data.reason}`;
    chip.className = "chip " + (response.ok ? "active" : "disabled");
  } catch {
    chip.textContent = "unreachable";
    chip.className = "chip disabled";
  }
}

// ---------- accounts ----------
let accounts = [];

loaders.accounts = loadAccounts;
async function loadAccounts() {
  try {
    accounts = (await api("GET", "/v2/accounts")).data;
    renderAccounts();
  } catch (error) {
    setMsg("acc-msg", error.message, "error");
  }
}

function renderAccounts() {
  const type = $("acc-filter-type").value;
  const state = $("acc-filter-status").value;
  const query = $("acc-search").value.trim().toLowerCase();
  const shown = accounts.filter((a) =>
    (!type || a.type === type) && (!state || a.status === state) &&
    (!query || (a.label || "").toLowerCase().includes(query) || a.id.toLowerCase().includes(query))
  );
  $("acc-count").textContent = `${shown.length} of ${accounts.length} accounts`;
  $("acc-list").replaceChildren(...shown.map(accountCard));
}
for (const id of ["acc-filter-type", "acc-filter-status"]) $(id).addEventListener("change", renderAccounts);
$("acc-search").addEventListener("input", renderAccounts);
$("acc-reload").addEventListener("click", () => {
  setMsg("acc-msg", "");
  loadAccounts();
  refreshReady();
});

$("acc-refresh-all").addEventListener("click", async (event) => {
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
    await loadAccounts();
  } catch (error) {
    setMsg("acc-msg", error.message, "error");
  } finally {
    button.disabled = false;
  }
});

function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    dl.append(el("dt", {}, key), el("dd", {}, value === null || value === "" ? "–" : String(value)));
  }
  return dl;
}

function accountCard(account) {
  const msg = el("div", { class: "msg" });
  const statsBox = el("div", { class: "stats-box hidden" });
  const update = async (patch, note) => {
    try {
      const { data } = await api("PATCH", `/v2/accounts/${encodeURIComponent(account.id)}`, patch);
      Object.assign(account, data);
      const index = accounts.findIndex((a) => a.id === account.id);
      if (index >= 0) accounts[index] = data;
      renderAccounts();
      refreshReady();
      if (note) setMsg("acc-msg", note, "ok");
    } catch (error) {
      setMsg(msg, error.message, "error");
    }
  };

  const statusChip = el("span", { class: "chip " + account.status }, account.status);
  const enabled = el("input", { type: "checkbox", checked: account.enabled });
  enabled.addEventListener("change", () => update({ enabled: enabled.checked }));

  const other = account.other || {};
  const details = [["ID", account.id]];
  if (account.status === "disabled" && account.disabled_reason) details.push(["Disabled because", account.disabled_reason]);
  if (account.cooldown_until && account.status === "cooldown") details.push(["Cooldown until", fmtTime(account.cooldown_until)]);
  if (account.parked_until && account.status === "parked") details.push(["Parked until", fmtTime(account.parked_until)]);
  if (account.last_error) details.push(["Last error", account.last_error]);
  if (account.type === "custom_api") {
    details.push(["API base", other.api_base], ["Model", other.model || "(requested)"], ["Format", other.format || "openai"]);
    if (other.provider) details.push(["Provider", other.provider]);
  } else {
    details.push(["Client ID", account.clientId], ["Refresh token", account.refreshToken]);
    details.push(["Last refresh", `${account.last_refresh_status} · ${fmtTime(account.last_refresh_time)}`]);
    if (account.type === "gemini" && other.project) details.push(["Project", other.project]);
  }
  details.push(["Created", fmtTime(account.created_at)], ["Last used", fmtTime(account.last_used_at)]);

  const weight = el("input", { type: "number", min: 1, max: 1000, value: account.weight });
  const rate = el("input", { type: "number", min: 0, value: account.rate_limit_per_hour });
  const inflight = el("input", { type: "number", min: 0, value: account.max_inflight });
  const saveLimits = el("button", {
    type: "button",
    onclick: () =>
      update({
        weight: Number(weight.value),
        rate_limit_per_hour: Number(rate.value),
        max_inflight: Number(inflight.value),
      }, `Saved ${account.label || account.id}.`),
  }, "Save");

  const buttons = [
    el("button", { type: "button", onclick: (e) => testAccount(account, msg, e.currentTarget) }, "Test"),
    el("button", { type: "button", onclick: (e) => loadStats(account, statsBox, e.currentTarget) }, "Stats"),
  ];
  if (account.type !== "custom_api") {
    buttons.push(el("button", { type: "button", onclick: (e) => refreshToken(account, msg, e.currentTarget) }, "Refresh token"));
  }
  if (account.status === "cooldown" || account.status === "parked") {
    buttons.push(el("button", { type: "button", onclick: () => update({ clear_cooldown: true }, "Cooldown cleared.") }, "Clear cooldown"));
  }
  buttons.push(el("button", {
    type: "button",
    class: "danger",
    onclick: async () => {
      if (!confirm(`Delete account "${account.label || account.id}"?`)) return;
      try {
        await api("DELETE", `/v2/accounts/${encodeURIComponent(account.id)}`);
        accounts = accounts.filter((a) => a.id !== account.id);
        renderAccounts();
        refreshReady();
      } catch (error) {
        setMsg(msg, error.message, "error");
      }
    },
  }, "Delete"));

  return el(
    "div",
    { class: "card" },
    el(
      "div",
      { class: "row" },
      el("h3", { class: "grow" }, account.label || "(no label)"),
      el("span", { class: "chip " + account.type }, account.type),
      statusChip,
      el("label", { class: "switch", title: "Enabled" }, enabled, "on"),
    ),
    kv(details),
    el(
      "div",
      { class: "inline-edit" },
      el("div", {}, el("label", {}, "Weight"), weight),
      el("div", {}, el("label", {}, "Req/hour"), rate),
      el("div", {}, el("label", {}, "In flight"), inflight),
      saveLimits,
    ),
    el("div", { class: "row mt8" }, buttons),
    statsBox,
    msg,
  );
}

async function refreshToken(account, msg, button) {
  button.disabled = true;
  setMsg(msg, "Refreshing…");
  try {
    const { data } = await api("POST", `/v2/accounts/${encodeURIComponent(account.id)}/refresh`);
    setMsg(msg, `Token refreshed (${data.last_refresh_status}).`, "ok");
    const index = accounts.findIndex((a) => a.id === account.id);
    if (index >= 0) accounts[index] = data;
  } catch (error) {
    setMsg(msg, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

async function loadStats(account, box, button) {
  if (!box.classList.contains("hidden")) {
    box.classList.add("hidden");
    return;
  }
  button.disabled = true;
  try {
    const { data } = await api("GET", `/v2/accounts/${encodeURIComponent(account.id)}/stats`);
    const today = data.token_usage.today;
    const month = data.token_usage.this_month;
    box.replaceChildren(kv([
      ["Calls (1 h / 24 h / all)", `${fmtInt(data.calls_last_hour)} / ${fmtInt(data.calls_last_day)} / ${fmtInt(data.total_calls)}`],
      ["Failures", `${fmtInt(data.failures)}${Object.keys(data.failures_by_class || {}).length ? " (" + Object.entries(data.failures_by_class).map(([k, v]) => `${k}: ${v}`).join(", ") + ")" : ""}`],
      ["Remaining this hour", data.remaining_quota === null ? "no limit" : fmtInt(data.remaining_quota)],
      ["In flight", fmtInt(data.in_flight)],
      ["Cooldown", data.is_in_cooldown ? `${data.cooldown_remaining_seconds} s` : "no"],
      ["Today", `${fmtInt(today.request_count)} requests · ${fmtInt(today.input_tokens)} in / ${fmtInt(today.output_tokens)} out`],
      ["This month", `${fmtInt(month.request_count)} requests · ${fmtInt(month.input_tokens)} in / ${fmtInt(month.output_tokens)} out`],
    ]));
    box.classList.remove("hidden");
  } catch (error) {
    box.replaceChildren(el("div", { class: "msg error" }, error.message));
    box.classList.remove("hidden");
  } finally {
    button.disabled = false;
  }
}

async function testAccount(account, msg, button) {
  button.disabled = true;
  setMsg(msg, "Testing…");
  try {
    if (account.type === "custom_api") {
      const { data } = await api("POST", `/v2/accounts/${encodeURIComponent(account.id)}/test`);
      if (data.ok) setMsg(msg, `OK (${data.status}): ${data.preview || "(empty reply)"}`, "ok");
      else setMsg(msg, `Failed (${data.status}): ${data.error || "unknown error"}`, "error");
      return;
    }
    const model = account.type === "gemini" ? $("acc-test-model-gemini").value.trim() : $("acc-test-model-amazonq").value.trim();
    const { data } = await api("POST", "/v1/messages", {
      model,
      max_tokens: 50,
      stream: false,
      messages: [{ role: "user", content: $("acc-test-message").value || "Hello" }],
    }, { "x-account-id": account.id, "x-test-mode": "true" });
    const text = (data.content || []).filter((b) => b.type === "text").map((b) => b.text).join("");
    setMsg(msg, `OK (${data.model}, ${data.stop_reason}): ${text || "(no text)"}`, "ok");
  } catch (error) {
    setMsg(msg, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

// ---------- add account ----------
function syncAddForm() {
  const type = $("add-type").value;
  for (const block of document.querySelectorAll("#add-form [data-for]")) {
    block.classList.toggle("hidden", !block.dataset.for.split(" ").includes(type));
  }
}
$("add-type").addEventListener("change", syncAddForm);
syncAddForm();

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const type = $("add-type").value;
  const value = (id) => $(id).value.trim();
  const body = {
    type,
    label: value("add-label") || null,
    enabled: $("add-enabled").checked,
    weight: Number(value("add-weight") || 50),
    rate_limit_per_hour: Number(value("add-rate") || 0),
    max_inflight: Number(value("add-inflight") || 0),
    other: {},
  };
  if (type === "custom_api") {
    body.clientSecret = value("add-api-key");
    body.other = { api_base: value("add-api-base"), format: $("add-format").value };
    if (value("add-model")) body.other.model = value("add-model");
    if ($("add-provider").value) body.other.provider = $("add-provider").value;
  } else {
    for (const [field, id] of [["clientId", "add-client-id"], ["clientSecret", "add-client-secret"], ["refreshToken", "add-refresh"], ["accessToken", "add-access"]]) {
      if (value(id)) body[field] = value(id);
    }
    if (type === "gemini") {
      if (value("add-project")) body.other.project = value("add-project");
      if (value("add-endpoint")) body.other.api_endpoint = value("add-endpoint");
    }
  }
  try {
    const { data } = await api("POST", "/v2/accounts", body);
    setMsg("add-msg", `Created ${data.label || data.id}.`, "ok");
    for (const id of ["add-label", "add-client-id", "add-client-secret", "add-refresh", "add-access", "add-api-key", "add-project", "add-endpoint"]) $(id).value = "";
    refreshReady();
  } catch (error) {
    setMsg("add-msg", error.message, "error");
  }
});

// ---------- import / export ----------
$("import-go").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const text = $("import-data").value;
  if (!text.trim()) {
    setMsg("import-msg", "Paste something to import first.", "error");
    return;
  }
  button.disabled = true;
  try {
    const { data } = await api("POST", "/v2/accounts/import", { data: text, dry_run: $("import-dry").checked });
    const head = $("import-dry").checked
      ? `Dry run: ${data.parsed} account(s) recognised.`
      : `Imported ${data.imported} of ${data.parsed} account(s).`;
    setMsg("import-msg", data.errors.length ? `${head}\nProblems:\n${data.errors.join("\n")}` : head, data.errors.length ? "error" : "ok");
  } catch (error) {
    setMsg("import-msg", error.message, "error");
  } finally {
    button.disabled = false;
  }
});

$("cache-go").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const content = $("cache-content").value.trim();
  if (!content) {
    setMsg("cache-msg", "Paste the token file's content first.", "error");
    return;
  }
  const body = { content };
  const label = $("cache-label").value.trim();
  const registration = $("cache-registration").value.trim();
  if (label) body.label = label;
  if (registration) body.client_registration = registration;
  button.disabled = true;
  try {
    const { data } = await api("POST", "/v2/accounts/import-token-cache", body);
    $("cache-content").value = "";
    $("cache-registration").value = "";
    setMsg("cache-msg", `Created account ${data.label ?? data.id}.`, "ok");
  } catch (error) {
    setMsg("cache-msg", error.message, "error");
  } finally {
    button.disabled = false;
  }
});

let exportUrl = null;
$("export-go").addEventListener("click", async () => {
  const format = $("export-format").value;
  const secrets = $("export-secrets").checked;
  try {
    const { data } = await api("GET", `/v2/accounts/export?format=${format}&include_secrets=${secrets}`);
    const text = JSON.stringify(data, null, 2);
    $("export-data").value = text;
    if (exportUrl) URL.revokeObjectURL(exportUrl);
    exportUrl = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    $("export-download").disabled = false;
    $("export-download").dataset.name = `amq2api-${format}-${new Date().toISOString().slice(0, 10)}.json`;
    setMsg("export-msg", `${Array.isArray(data) ? data.length : data.accounts.length} account(s)${secrets ? ", with secrets" : ""}.`, "ok");
  } catch (error) {
    setMsg("export-msg", error.message, "error");
  }
});
$("export-download").addEventListener("click", () => {
  if (!exportUrl) return;
  const link = el("a", { href: exportUrl, download: $("export-download").dataset.name || "export.json" });
  document.body.append(link);
  link.click();
  link.remove();
});

// ---------- device login ----------
let device = null;
function stopDevicePolling() {
  if (device) {
    clearInterval(device.timer);
    device.cancelled = true;
  }
  device = null;
}

function showDeviceStatus(state) {
  const text = state.status === "pending" ? `waiting for approval · ${state.remaining} s left` : state.status;
  $("device-status").textContent = state.error ? `${text}: ${state.error}` : text;
}

$("device-start").addEventListener("click", async () => {
  stopDevicePolling();
  setMsg("device-msg", "");
  try {
    const { data } = await api("POST", "/v2/auth/start", { label: $("device-label").value.trim() || null, enabled: $("device-enabled").checked });
    const link = $("device-link");
    // Only an https link is made clickable; anything else is shown as text.
    if (/^https:\/\//i.test(data.verificationUriComplete)) link.href = data.verificationUriComplete;
    else link.removeAttribute("href");
    link.textContent = data.verificationUriComplete;
    $("device-code").textContent = data.userCode;
    $("device-status").textContent = `waiting for approval · ${data.expiresIn} s left`;
    $("device-info").classList.remove("hidden");
    const session = { id: data.authId, cancelled: false, timer: 0 };
    session.timer = setInterval(async () => {
      try {
        const { data: state } = await api("GET", `/v2/auth/status/${encodeURIComponent(session.id)}`);
        showDeviceStatus(state);
        if (state.status !== "pending") clearInterval(session.timer);
      } catch (error) {
        clearInterval(session.timer);
        setMsg("device-msg", error.message, "error");
      }
    }, Math.max(3, Number(data.interval) || 0) * 1000);
    device = session;
  } catch (error) {
    setMsg("device-msg", error.message, "error");
  }
});

$("device-claim").addEventListener("click", async (event) => {
  const session = device;
  if (!session) return;
  const button = event.currentTarget;
  button.disabled = true;
  setMsg("device-msg", "Waiting for AWS to confirm…");
  try {
    // Each claim waits a while on the server and answers 202 while the login is still pending.
    while (!session.cancelled) {
      const { status, data } = await api("POST", `/v2/auth/claim/${encodeURIComponent(session.id)}`);
      if (status === 200 && data.status === "completed") {
        stopDevicePolling();
        $("device-info").classList.add("hidden");
        setMsg("device-msg", `Account created: ${(data.account && (data.account.label || data.account.id)) || "(unknown)"}.`, "ok");
        refreshReady();
        return;
      }
      showDeviceStatus(data);
    }
  } catch (error) {
    setMsg("device-msg", error.message, "error");
  } finally {
    button.disabled = false;
  }
});
$("device-cancel").addEventListener("click", () => {
  stopDevicePolling();
  $("device-info").classList.add("hidden");
  setMsg("device-msg", "Cancelled.");
});

// ---------- client keys ----------
loaders.keys = loadKeys;
async function loadKeys() {
  try {
    const { data } = await api("GET", "/v2/keys");
    $("key-list").replaceChildren(...data.map((key) =>
      el(
        "tr",
        {},
        el("td", {}, key.label || "–"),
        el("td", { class: "mono" }, key.prefix + "…"),
        el("td", {}, fmtTime(key.created_at)),
        el("td", {}, fmtTime(key.last_used_at)),
        el("td", {}, el("button", {
          type: "button",
          class: "danger",
          onclick: async () => {
            if (!confirm(`Revoke key "${key.label || key.prefix}"? Clients using it stop working.`)) return;
            try {
              await api("DELETE", `/v2/keys/${encodeURIComponent(key.id)}`);
              loadKeys();
            } catch (error) {
              setMsg("key-msg", error.message, "error");
            }
          },
        }, "Revoke")),
      )
    ));
    if (data.length === 0) $("key-list").append(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "No stored keys (API_KEY from the environment is not listed).")));
  } catch (error) {
    setMsg("key-msg", error.message, "error");
  }
}

$("key-create").addEventListener("click", async () => {
  try {
    const { data } = await api("POST", "/v2/keys", { label: $("key-label").value.trim() || null });
    const box = $("key-new");
    const copy = el("button", {
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
      el("div", {}, el("strong", {}, "New key — shown only now:")),
      el("div", { class: "mono key-value" }, data.key),
      el("div", { class: "row" }, copy, el("button", { type: "button", onclick: () => box.classList.add("hidden") }, "Done")),
    );
    box.classList.remove("hidden");
    $("key-label").value = "";
    setMsg("key-msg", "");
    loadKeys();
  } catch (error) {
    setMsg("key-msg", error.message, "error");
  }
});

// ---------- routing config ----------
loaders.config = loadConfig;
async function loadConfig() {
  try {
    const { data } = await api("GET", "/v2/config");
    $("config-data").value = JSON.stringify(data, null, 2);
  } catch (error) {
    setMsg("config-msg", error.message, "error");
  }
}
$("config-reload").addEventListener("click", () => {
  setMsg("config-msg", "");
  loadConfig();
});
$("config-save").addEventListener("click", async () => {
  let body;
  try {
    body = JSON.parse($("config-data").value);
  } catch (error) {
    setMsg("config-msg", `Not valid JSON: ${error.message}`, "error");
    return;
  }
  try {
    const { data } = await api("PUT", "/v2/config", body);
    $("config-data").value = JSON.stringify(data.config, null, 2);
    setMsg("config-msg", `Saved: ${data.updated.join(", ") || "nothing"}.`, "ok");
  } catch (error) {
    setMsg("config-msg", error.message, "error");
  }
});

// ---------- usage ----------
let period = "day";
for (const [value, title] of [["hour", "Last hour"], ["day", "Today"], ["week", "This week"], ["month", "This month"], ["all", "All time"]]) {
  $("usage-periods").append(el("button", {
    type: "button",
    dataset: { period: value },
    onclick: () => {
      period = value;
      loadUsage();
    },
  }, title));
}
loaders.usage = loadUsage;
async function loadUsage() {
  for (const button of $("usage-periods").children) button.classList.toggle("primary", button.dataset.period === period);
  try {
    // The session cookie authenticates /v1 as well.
    const { data } = await api("GET", `/v1/usage?period=${period}`);
    const stat = (title, value) => el("div", { class: "stat" }, el("div", { class: "muted" }, title), el("div", { class: "v" }, fmtInt(value)));
    const cacheTotal = data.cache_read_input_tokens + data.cache_creation_input_tokens;
    $("usage-cards").replaceChildren(
      stat("Requests", data.request_count),
      stat("Total tokens", data.total_tokens),
      stat("Input tokens", data.input_tokens),
      stat("Output tokens", data.output_tokens),
      stat("Cache writes", data.cache_creation_input_tokens),
      stat("Cache reads", data.cache_read_input_tokens),
      el("div", { class: "stat" }, el("div", { class: "muted" }, "Cache hit rate (tokens)"),
        el("div", { class: "v" }, cacheTotal ? `${(100 * data.cache_read_input_tokens / cacheTotal).toFixed(1)} %` : "–")),
    );
    $("usage-models").replaceChildren(...data.by_model.map((row) =>
      el("tr", {}, el("td", { class: "mono" }, row.model), el("td", {}, fmtInt(row.request_count)), el("td", {}, fmtInt(row.input_tokens)),
        el("td", {}, fmtInt(row.output_tokens)), el("td", {}, fmtInt(row.cache_creation_input_tokens)), el("td", {}, fmtInt(row.cache_read_input_tokens)))
    ));
    setMsg("usage-msg", `Since ${fmtTime(data.start_time)}.`);
  } catch (error) {
    setMsg("usage-msg", error.message, "error");
  }
}

// A live session cookie opens the console directly; a 401/403 from the probe shows setup or sign-in.
start();
