// The Request log: the most recent usage records (one per request) with filters and a detail view of the
// record (timings, tokens by kind and where each figure came from, cost, the error class and message). No prompt or
// answer text is stored, so none is shown. Fields the server does not record yet show as "–".
import { $, h, setMsg } from "./dom.js";
import { fmtInt, fmtTime, fmtUsd } from "./format.js";

const FIELDS = [
  ["created_at", "Time", (v) => fmtTime(v)],
  ["outcome", "Outcome"],
  ["model", "Model"],
  ["upstream_model", "Upstream model"],
  ["channel", "Channel"],
  ["account_id", "Account"],
  ["key_id", "Client key"],
  ["request_id", "Request ID"],
  ["stop_reason", "Stop reason"],
  ["streamed", "Streamed", (v) => (v === true ? "yes" : v === false ? "no" : "–")],
  ["ttfb_ms", "Time to first byte", (v) => (typeof v === "number" ? `${fmtInt(v)} ms` : "–")],
  ["duration_ms", "Duration", (v) => (typeof v === "number" ? `${fmtInt(v)} ms` : "–")],
  ["input_tokens", "Input tokens", fmtInt],
  ["input_source", "Input figure from"],
  ["output_tokens", "Output tokens", fmtInt],
  ["cache_creation_input_tokens", "Cache write tokens", fmtInt],
  ["cache_creation_1h_tokens", "… of which 1 h cache", fmtInt],
  ["cache_read_input_tokens", "Cache read tokens", fmtInt],
  ["cache_source", "Cache figures from"],
  ["cost_usd", "Cost", fmtUsd],
  ["cost_status", "Cost status"],
  ["error_class", "Error class"],
  ["error_message", "Error"],
];

const isFailure = (record) => record.outcome !== undefined && record.outcome !== null && record.outcome !== "success";

export function createRequestLog({ api, accountsOf }) {
  let records = [];
  let labels = new Map();
  let selected = null;

  async function load() {
    try {
      const [{ data }, accounts] = await Promise.all([api("GET", "/v1/usage/recent?limit=500"), accountsOf().catch(() => [])]);
      records = Array.isArray(data) ? data : data.records ?? [];
      labels = new Map(accounts.map((a) => [a.id, a.label || a.id.slice(0, 8)]));
      fillChoices(accounts);
      render();
    } catch (error) {
      setMsg("log-msg", error.message, "error");
    }
  }

  function fillChoices(accounts) {
    const select = $("log-account");
    const current = select.value;
    select.replaceChildren(h("option", { value: "" }, "All accounts"),
      accounts.map((a) => h("option", { value: a.id, selected: a.id === current }, a.label || a.id.slice(0, 8))));
    const channels = [...new Set(records.map((r) => r.channel).filter(Boolean))].sort();
    const channel = $("log-channel");
    const chosen = channel.value;
    channel.replaceChildren(h("option", { value: "" }, "All channels"),
      channels.map((c) => h("option", { value: c, selected: c === chosen }, c)));
  }

  /** Filters applied here too: a server that ignores a filter parameter still shows the right rows. */
  function shown() {
    const account = $("log-account").value;
    const model = $("log-model").value.trim().toLowerCase();
    const outcome = $("log-outcome").value;
    const channel = $("log-channel").value;
    const key = $("log-key").value.trim();
    const since = Number($("log-since").value) || 0;
    const from = since ? Date.now() - since * 60_000 : 0;
    return records.filter((r) =>
      (!account || r.account_id === account) &&
      (!model || String(r.model).toLowerCase().includes(model) || String(r.upstream_model ?? "").toLowerCase().includes(model)) &&
      (!channel || r.channel === channel) &&
      (!key || String(r.key_id ?? "").startsWith(key)) &&
      (!from || new Date(r.created_at).getTime() >= from) &&
      (!outcome || (outcome === "failed" ? isFailure(r) : outcome === "success" ? !isFailure(r) : r.outcome === outcome))
    );
  }

  function render() {
    const list = shown();
    const hasOutcome = records.some((r) => "outcome" in r);
    $("log-outcome").disabled = !hasOutcome;
    $("log-count").textContent = `${list.length} of ${records.length} recent requests` +
      (hasOutcome ? "" : " (this server does not record failed requests yet)");
    $("log-list").replaceChildren(...list.map((r) => {
      const failed = isFailure(r);
      return h("tr", {
        class: "clickable" + (failed ? " failed" : "") + (selected === r.id ? " selected" : ""),
        tabIndex: 0,
        dataset: { id: String(r.id) },
        onclick: () => select(r),
        onkeydown: (e) => e.key === "Enter" && select(r),
      },
      h("td", {}, fmtTime(r.created_at)),
      h("td", {}, h("span", { class: "chip " + (failed ? "disabled" : "active") }, r.outcome ?? "–")),
      h("td", { class: "mono" }, r.model),
      h("td", { class: "hide-narrow" }, r.account_id ? labels.get(r.account_id) ?? r.account_id.slice(0, 8) : "–"),
      h("td", {}, `${fmtInt(r.input_tokens)} / ${fmtInt(r.output_tokens)}`),
      h("td", { class: "hide-narrow" }, "cost_usd" in r ? fmtUsd(r.cost_usd) : "–"));
    }));
    if (list.length === 0) $("log-list").append(h("tr", {}, h("td", { colSpan: 6, class: "muted" }, "No request matches.")));
    const current = records.find((r) => r.id === selected);
    $("log-detail").classList.toggle("hidden", !current);
    if (current) detail(current);
  }

  function select(record) {
    selected = record.id;
    render();
    $("log-detail").scrollIntoView({ block: "nearest" });
  }

  function detail(record) {
    const dl = h("dl", { class: "kv" });
    for (const [key, title, format] of FIELDS) {
      if (!(key in record)) continue;
      let value = record[key];
      if (key === "account_id" && value) value = `${labels.get(value) ?? ""} (${value})`;
      dl.append(h("dt", {}, title), h("dd", {}, format ? format(value) : value === null || value === "" ? "–" : String(value)));
    }
    $("log-detail").replaceChildren(
      h("div", { class: "row" }, h("h3", { class: "grow" }, `Request ${record.request_id ?? record.id}`),
        h("button", { type: "button", onclick: () => { selected = null; render(); } }, "Close")),
      dl,
    );
  }

  for (const id of ["log-account", "log-outcome", "log-channel", "log-since"]) $(id).addEventListener("change", render);
  for (const id of ["log-model", "log-key"]) $(id).addEventListener("input", render);
  $("log-reload").addEventListener("click", load);

  return { load, refresh: load };
}
