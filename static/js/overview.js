// The Overview: a first-run checklist with a copyable Claude Code snippet, the pool's state now, usage
// totals, and charts over time (requests, tokens, cost, errors, time to first byte) from the usage series
// API. Charts are drawn by uPlot (vendored under /static/vendor, MIT); when the server has no series API
// the chart area says so instead of failing.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { $, h, setMsg } from "./dom.js";
import { isMissingApi } from "./api.js";
import { fmtInt, fmtPercent, fmtTime, fmtUsd } from "./format.js";

const RANGES = [
  ["24h", "Last 24 h", 24 * 3600_000, "hour", "day"],
  ["7d", "Last 7 days", 7 * 86400_000, "day", "week"],
  ["30d", "Last 30 days", 30 * 86400_000, "day", "month"],
];
const PALETTE = ["#2f6fed", "#17803d", "#b45309", "#c0262d", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f"];
const TOKEN_KINDS = [
  ["input_tokens", "Input"],
  ["output_tokens", "Output"],
  ["cache_creation_input_tokens", "Cache write"],
  ["cache_read_input_tokens", "Cache read"],
];

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export function createOverview({ api, accountsOf, keysOf }) {
  let range = RANGES[0];
  let groupBy = "model";
  const charts = [];

  function seriesRows(data) {
    if (Array.isArray(data)) return data;
    for (const key of ["rows", "series", "buckets", "data"]) if (Array.isArray(data?.[key])) return data[key];
    return [];
  }

  async function load() {
    for (const button of $("ov-ranges").children) button.classList.toggle("primary", button.dataset.range === range[0]);
    await Promise.all([loadGuide(), loadPool(), loadTotals(), loadSeries()]);
  }

  // ---------- first-run checklist ----------
  async function loadGuide() {
    const accounts = await accountsOf();
    const keys = await keysOf();
    const origin = location.origin;
    const steps = [
      [true, "Admin account created", "You are signed in."],
      [accounts.length > 0, "Add an upstream account", "Add account, Device login (Amazon Q), or Import."],
      [keys.length > 0, "Create a client key", "Client keys. Until the first key exists, only clients on this machine are served (without a key)."],
    ];
    const snippet = `ANTHROPIC_BASE_URL=${origin} ANTHROPIC_API_KEY=<client key> \\\nCLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude`;
    const copy = h("button", {
      type: "button",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(snippet);
          copy.textContent = "Copied";
        } catch {
          copy.textContent = "Select the text to copy";
        }
      },
    }, "Copy");
    const done = steps.every(([ok]) => ok);
    $("ov-guide").replaceChildren(
      h("h2", {}, done ? "Connect Claude Code" : "Getting started"),
      h("ol", { class: "checklist" }, steps.map(([ok, title, hint]) =>
        h("li", { class: ok ? "done" : "todo" }, h("span", { class: "check" }, ok ? "✓" : "○"), h("strong", {}, title), " ",
          h("span", { class: "muted" }, hint)))),
      h("p", { class: "muted" }, "Point Claude Code at this server (OpenAI-compatible clients use ", h("span", { class: "mono" }, `${origin}/v1`), "):"),
      h("pre", { class: "snippet", id: "ov-snippet" }, snippet),
      h("div", { class: "row" }, copy),
    );
  }

  // ---------- the pool now ----------
  async function loadPool() {
    const accounts = await accountsOf();
    const states = ["active", "cooldown", "parked", "disabled"];
    const channels = [...new Set(accounts.map((a) => a.type))].sort();
    const count = (type, status) => accounts.filter((a) => a.type === type && a.status === status).length;
    $("ov-pool").replaceChildren(
      h("thead", {}, h("tr", {}, h("th", {}, "Channel"), states.map((s) => h("th", {}, s === "active" ? "usable" : s)))),
      h("tbody", {}, channels.length
        ? channels.map((type) => h("tr", {}, h("td", {}, h("span", { class: "chip " + type }, type)), states.map((s) => h("td", {}, fmtInt(count(type, s))))))
        : h("tr", {}, h("td", { colSpan: 5, class: "muted" }, "No accounts yet."))),
    );
  }

  // ---------- totals ----------
  async function loadTotals() {
    try {
      const { data } = await api("GET", `/v1/usage?period=${range[4]}`);
      const cacheTotal = data.cache_read_input_tokens + data.cache_creation_input_tokens;
      const cost = data.by_model.reduce((sum, row) => sum + (typeof row.cost_usd === "number" ? row.cost_usd : 0), 0);
      const errors = data.by_model.reduce((sum, row) => sum + (row.error_count ?? 0), 0);
      const stat = (title, value, id) =>
        h("div", { class: "stat", ...(id ? { id } : {}) }, h("div", { class: "muted" }, title), h("div", { class: "v" }, value));
      $("ov-cards").replaceChildren(
        stat("Requests", fmtInt(data.request_count), "ov-requests"),
        stat("Input tokens", fmtInt(data.input_tokens)),
        stat("Output tokens", fmtInt(data.output_tokens)),
        stat("Cache hit rate", fmtPercent(data.cache_read_input_tokens, cacheTotal)),
        stat("Cost", data.by_model.some((r) => "cost_usd" in r) ? fmtUsd(cost) : "–"),
        stat("Errors", data.by_model.some((r) => "error_count" in r) ? fmtInt(errors) : "–"),
      );
      $("ov-models").replaceChildren(...data.by_model.map((row) =>
        h("tr", {}, h("td", { class: "mono" }, row.model), h("td", {}, fmtInt(row.request_count)), h("td", {}, fmtInt(row.input_tokens)),
          h("td", {}, fmtInt(row.output_tokens)), h("td", { class: "hide-narrow" }, fmtInt(row.cache_creation_input_tokens)),
          h("td", { class: "hide-narrow" }, fmtInt(row.cache_read_input_tokens)))
      ));
      setMsg("ov-msg", `Totals ${range[4] === "day" ? "today" : `this ${range[4]}`} (since ${fmtTime(data.start_time)}).`);
    } catch (error) {
      setMsg("ov-msg", error.message, "error");
    }
  }

  // ---------- charts ----------
  async function loadSeries() {
    const to = Date.now();
    const from = to - range[2];
    const box = $("ov-charts");
    try {
      const query = `bucket=${range[3]}&from=${from}&to=${to}&group_by=${groupBy}`;
      const { data } = await api("GET", `/v2/usage/series?${query}`);
      drawCharts(seriesRows(data), from, to);
    } catch (error) {
      destroyCharts();
      box.replaceChildren(h("p", { class: "muted", id: "ov-charts-unavailable" }, isMissingApi(error)
        ? "Charts over time are not available on this server yet (it has no usage series API)."
        : `Charts could not be loaded: ${error.message}`));
    }
  }

  function destroyCharts() {
    while (charts.length) charts.pop().destroy();
  }

  function drawCharts(rows, from, to) {
    destroyCharts();
    const box = $("ov-charts");
    box.replaceChildren();
    const step = range[3] === "hour" ? 3600_000 : 86400_000;
    const xs = [];
    for (let t = Math.floor(from / step) * step; t <= to; t += step) xs.push(t);
    const index = new Map(xs.map((t, i) => [t, i]));
    const empty = () => xs.map(() => 0);
    const at = (row) => index.get(Math.floor(Number(row.t) / step) * step);

    const groups = [...new Set(rows.map((r) => r.group ?? "all"))].slice(0, 8);
    const requests = groups.map(() => empty());
    const tokens = TOKEN_KINDS.map(() => empty());
    const cost = empty();
    const errorClasses = [...new Set(rows.flatMap((r) => Object.keys(r.errors ?? {})))];
    const errors = errorClasses.map(() => empty());
    const p50 = xs.map(() => null);
    const p95 = xs.map(() => null);
    for (const row of rows) {
      const i = at(row);
      if (i === undefined) continue;
      const g = groups.indexOf(row.group ?? "all");
      if (g >= 0) requests[g][i] += row.requests ?? 0;
      TOKEN_KINDS.forEach(([key], k) => (tokens[k][i] += row[key] ?? 0));
      cost[i] += row.cost_usd ?? 0;
      errorClasses.forEach((c, k) => (errors[k][i] += row.errors?.[c] ?? 0));
      // Percentiles do not add up across groups: the worst group's value is shown.
      if (row.ttfb_p50_ms != null) p50[i] = Math.max(p50[i] ?? 0, row.ttfb_p50_ms);
      if (row.ttfb_p95_ms != null) p95[i] = Math.max(p95[i] ?? 0, row.ttfb_p95_ms);
    }
    const seconds = xs.map((t) => t / 1000);
    chart(box, `Requests by ${groupBy}`, seconds, groups.map((g, i) => [String(g), requests[i]]));
    chart(box, "Tokens", seconds, TOKEN_KINDS.map(([, label], k) => [label, tokens[k]]));
    chart(box, "Cost (USD)", seconds, [["Cost", cost]]);
    chart(box, "Errors by class", seconds, errorClasses.length ? errorClasses.map((c, k) => [c, errors[k]]) : [["errors", empty()]]);
    chart(box, "Time to first byte (ms)", seconds, [["p50", p50], ["p95", p95]]);
    if (rows.length === 0) box.prepend(h("p", { class: "muted" }, "No requests in this period yet."));
  }

  function chart(box, title, xs, lines) {
    const holder = h("div", { class: "chart" }, h("h3", {}, title));
    box.append(holder);
    const width = Math.max(260, Math.min(holder.clientWidth || box.clientWidth || 600, 1100));
    const axis = { stroke: css("--muted"), grid: { stroke: css("--border"), width: 1 }, ticks: { stroke: css("--border") } };
    const plot = new uPlot({
      width,
      height: 180,
      series: [{}, ...lines.map(([label], i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true }))],
      axes: [axis, { ...axis, size: 60 }],
      scales: { x: { time: true } },
      legend: { show: true },
    }, [xs, ...lines.map(([, values]) => values)], holder);
    charts.push(plot);
  }

  // ---------- controls ----------
  for (const r of RANGES) {
    $("ov-ranges").append(h("button", {
      type: "button",
      dataset: { range: r[0] },
      onclick: () => {
        range = r;
        load();
      },
    }, r[1]));
  }
  $("ov-group").addEventListener("change", (event) => {
    groupBy = event.currentTarget.value;
    loadSeries();
  });
  let resizeTimer = 0;
  addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const plot of charts) {
        const width = Math.max(260, Math.min(plot.root.parentElement.clientWidth, 1100));
        plot.setSize({ width, height: 180 });
      }
    }, 150);
  });
  // Dark/light switch: axis colours come from the theme, so the charts are drawn again.
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => loadSeries());

  return { load, refresh: () => Promise.all([loadPool(), loadTotals(), loadSeries()]) };
}
