/**
 * What metrics and tracing add to a request: the hook calls one streamed request makes (request counter,
 * upstream call, stream start/end with both histograms and the in-flight gauge, four token kinds, and with
 * tracing the request span's attributes and one upstream span) timed in a bounded loop, against the median of the whole
 * request path (`POST /v1/messages`, streamed, through the served app to a fake upstream on 127.0.0.1).
 * The figure to watch is the ratio; the budget is under 2 %.
 *
 * Measured on a shared, busy 2-core machine (Deno 2.9.6): metric hooks 4-17 µs per request, 0.05-0.7 % of
 * the in-process request path (median 1.4-13 ms depending on load); with OTel export on, metrics plus the
 * server's spans 70-140 µs, 0.5-4.6 % of that path, about 1-2 % of the latency bench's Claude Code-sized
 * request through the served app (median 6.7 ms). With tracing off the span calls are no-ops.
 *
 * Run plain for metrics alone, and with Deno's telemetry on for real spans (the export itself runs off the
 * request path; pointing it at a closed port keeps the bench self-contained):
 *   npx -y deno@2.9.6 bench -A --unstable-cron --unstable-no-legacy-abort bench/metrics_overhead_bench.ts
 *   OTEL_DENO=true OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 npx -y deno@2.9.6 bench -A --unstable-cron --unstable-no-legacy-abort \
 *     bench/metrics_overhead_bench.ts
 */
import { trace } from "@opentelemetry/api";
import { Metrics } from "../lib/observability/metrics.ts";
import { Tracing } from "../lib/observability/tracing.ts";
import { helloUpstream } from "../tests/_helpers/hello_upstream.ts";
import { json, makeTestApp } from "../tests/_helpers/test_app.ts";

const REQUESTS = 300;
/** Requests per timed batch: about a second of a busy server's traffic, so the exporter keeps up. */
const HOOK_ROUNDS = 1_000;
const BATCHES = 15;
const account = { id: "acc_0123456789", type: "custom_api" as const };
const usage = { input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 800 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Microseconds of hook calls per request, median of bounded batches. */
async function hookCost(metrics: Metrics, tracing: Tracing | undefined): Promise<number> {
  const batches: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    // The exporter ships the previous batch meanwhile, as it does between requests in a real server.
    await new Promise((r) => setTimeout(r, 100));
    const start = performance.now();
    for (let i = 0; i < HOOK_ROUNDS; i++) {
      const requestId = `req_${i}`;
      const run = () => {
        metrics.upstreamCall(account, "success");
        const obs = metrics.streamStarted(requestId, account, "gpt-x", 0, performance.now());
        obs.end("success");
        metrics.usage("gpt-x", "custom_api", usage);
        const channel = metrics.request(requestId, "/v1/messages", "POST", 200);
        return Promise.resolve({ route: "/v1/messages", status: 200, channel });
      };
      if (tracing) await tracing.request("POST", run);
      else await run();
    }
    batches.push((performance.now() - start) * 1000 / HOOK_ROUNDS);
  }
  return median(batches);
}

const upstream = helloUpstream();
const t = makeTestApp({ realClock: true });
await t.store.accounts.create({
  type: "custom_api",
  clientSecret: "bench-key",
  other: { api_base: upstream.url, format: "openai", model: "gpt-x" },
  rate_limit_per_hour: 0,
});
const body = { model: "gpt-x", max_tokens: 64, stream: true, messages: [{ role: "user", content: "hello" }] };
const times: number[] = [];
for (let i = 0; i < REQUESTS + 20; i++) {
  const start = performance.now();
  const response = await t.request("/v1/messages", json(body));
  await response.text();
  if (i >= 20) times.push((performance.now() - start) * 1000);
}
const requestUs = median(times);
const metricsUs = await hookCost(new Metrics({ processMetrics: false }), undefined);
// In the server the runtime has opened the request's span (Deno.serve) before the app runs, and the server
// only annotates it: the batches run inside one such span so that exactly the server's own additions are
// timed (the annotation and one upstream span per request).
const tracing = new Tracing();
const tracedUs = await trace.getTracer("bench").startActiveSpan("server", async (span) => {
  try {
    return await hookCost(new Metrics({ processMetrics: false, tracing }), tracing);
  } finally {
    span.end();
  }
});
const otel = Deno.env.get("OTEL_DENO") === "true" ? "OTel export on" : "OTel off (API no-op)";
// deno-lint-ignore no-console
console.log(
  `request path median ${requestUs.toFixed(0)} µs; metrics hooks ${metricsUs.toFixed(2)} µs ` +
    `(${(metricsUs / requestUs * 100).toFixed(2)} %); metrics + tracing hooks ${tracedUs.toFixed(2)} µs ` +
    `(${(tracedUs / requestUs * 100).toFixed(2)} %, ${otel})`,
);
await t.close();
await upstream.stop();

const benchMetrics = new Metrics({ processMetrics: false });
let n = 0;
Deno.bench("metrics hooks of one request", () => {
  const requestId = `req_${n++}`;
  benchMetrics.upstreamCall(account, "success");
  benchMetrics.streamStarted(requestId, account, "gpt-x", 0, performance.now()).end("success");
  benchMetrics.usage("gpt-x", "custom_api", usage);
  benchMetrics.request(requestId, "/v1/messages", "POST", 200);
});
