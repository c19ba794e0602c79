// The admin console's entry module: sign-in screens, tabs, live refresh, and the smaller views. Everything
// is built with h() (dom.js): account labels, upstream test replies and server messages are data, never
// markup. No token is kept in storage: the session is an HttpOnly cookie.
import { $, h as el, setMsg } from "./dom.js";
import { createApi, HttpError, inFormWords } from "./api.js";
import { createAccountsView } from "./accounts.js";
import { fieldLabels } from "./account_edit.js";
import { createKeysView } from "./keys.js";
import { createOverview } from "./overview.js";
import { createRequestLog } from "./request_log.js";
import { createGeminiSignIn } from "./gemini_signin.js";

const api = createApi(() => showAuthScreen());

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

// ---------- tabs and live refresh ----------
const TABS = [
  ["overview", "Overview"],
  ["accounts", "Accounts"],
  ["add", "Add account"],
  ["device", "Device login"],
  ["keys", "Client keys"],
  ["log", "Request log"],
  ["config", "Routing"],
  ["transfer", "Import / export"],
];
/** Loads a tab when it is opened. */
const loaders = {};
/** Refreshes a tab while it is shown (and the page visible). */
const refreshers = {};
let currentTab = "overview";
function selectTab(name) {
  currentTab = name;
  for (const button of $("tabs").children) {
    button.classList.toggle("active", button.dataset.tab === name);
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const pane of document.querySelectorAll("#console > [data-tab]")) pane.classList.toggle("hidden", pane.dataset.tab !== name);
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  if (loaders[name]) loaders[name]();
}
for (const [name, title] of TABS) {
  $("tabs").append(el("button", { type: "button", role: "tab", dataset: { tab: name }, onclick: () => selectTab(name) }, title));
}

// Views refresh themselves while the console is on screen; a hidden tab makes no requests. `?refresh=N`
// sets the period in seconds (default 15).
const LIVE_MS = Math.max(1, Number(new URLSearchParams(location.search).get("refresh")) || 15) * 1000;
function liveRefresh() {
  if (document.visibilityState !== "visible" || $("console").classList.contains("hidden")) return;
  refreshReady();
  if (refreshers[currentTab]) refreshers[currentTab]();
}
setInterval(liveRefresh, LIVE_MS);
document.addEventListener("visibilitychange", liveRefresh);

function enterConsole() {
  show("console");
  refreshReady();
  const wanted = location.hash.slice(1);
  selectTab(TABS.some(([name]) => name === wanted) ? wanted : "overview");
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
const accountsView = createAccountsView({ api, refreshReady });
loaders.accounts = accountsView.load;
refreshers.accounts = accountsView.refresh;
setInterval(accountsView.tick, 1000);

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
    setMsg("add-msg", inFormWords(error.message, fieldLabels(type)), "error");
  }
});

createGeminiSignIn({ api, onAdded: refreshReady });

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
const keysView = createKeysView({ api });
loaders.keys = keysView.load;
refreshers.keys = keysView.refresh;

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

// ---------- overview and request log ----------
const accountsOf = async () => (await api("GET", "/v2/accounts")).data;
const keysOf = async () => (await api("GET", "/v2/keys")).data;
const overview = createOverview({ api, accountsOf, keysOf });
loaders.overview = overview.load;
refreshers.overview = overview.refresh;
const requestLog = createRequestLog({ api, accountsOf });
loaders.log = requestLog.load;
refreshers.log = requestLog.refresh;

// A live session cookie opens the console directly; a 401/403 from the probe shows setup or sign-in.
start();
