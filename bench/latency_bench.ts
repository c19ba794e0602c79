/**
 * Latency the proxy adds, end to end: a fake Amazon Q upstream on 127.0.0.1:0 that streams authentic
 * event-stream frames at once, measured (a) fetched directly and (b) through the served app
 * (`POST /v1/messages`, `stream:true`, one Amazon Q account with a fresh token), with a Claude Code-sized
 * request (~7 kB system prompt, 12 tools, 20 history turns, ~60 kB body). Time to first byte and to the
 * end of a short answer are compared by median; then a 5,000-frame answer gives events per second through
 * the whole server against the bare upstream.
 *
 * The quoted figures come from the bounded loops at module load (warm app, interleaved runs) and are
 * printed once; the `Deno.bench` entries then time single cold-app round trips for the usual table. Run:
 *   npx -y deno@2.9.6 bench --allow-net --allow-read --allow-write --allow-env --unstable-no-legacy-abort \
 *     bench/latency_bench.ts
 */
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { makeTestApp, type TestApp } from "../tests/_helpers/test_app.ts";
import { claudeCodeRequest } from "./_claude_code_request.ts";

const CLIENT_KEY = "sk-bench-client-key-0123456789";
const SHORT_FRAMES = 5;
const LONG_FRAMES = 5_000;
const WARMUP = 10;
const RUNS = 60;
const LONG_RUNS = 6;

function frames(count: number): Uint8Array<ArrayBuffer> {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(codec.encode({
      headers: {
        ":event-type": { type: "string", value: "assistantResponseEvent" },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" },
      },
      body: fromUtf8(JSON.stringify({ content: `token ${i} of the answer ` })),
    }));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A request shaped like Claude Code's: system blocks, a dozen tools, a tool loop history of 9 rounds. */
function claudeCodeTurn(turn: number, long: boolean): Record<string, unknown> {
  return claudeCodeRequest({
    turns: 9,
    toolResultChars: 3000,
    lastText: `${long ? "LONG_ANSWER " : ""}Continue (turn ${turn}).`,
  });
}

interface Timing {
  ttfb: number;
  total: number;
  events: number;
}

/** Reads a response to the end; times its first chunk and counts SSE events (or `frameCount` frames). */
async function timed(start: number, response: Response, sse: boolean): Promise<Timing> {
  const reader = response.body!.getReader();
  let ttfb = -1;
  let events = 0;
  let previous = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (ttfb < 0) ttfb = performance.now() - start;
    if (sse) {
      for (const byte of value) {
        if (byte === 10 && previous === 10) events++;
        previous = byte;
      }
    }
  }
  return { ttfb, total: performance.now() - start, events };
}

class Rig {
  readonly #upstream: Deno.HttpServer<Deno.NetAddr>;
  readonly #proxy: Deno.HttpServer<Deno.NetAddr>;
  readonly #bare: Deno.HttpServer<Deno.NetAddr>;
  readonly #app: TestApp;

  private constructor(
    upstream: Deno.HttpServer<Deno.NetAddr>,
    app: TestApp,
    proxy: Deno.HttpServer<Deno.NetAddr>,
    bare: Deno.HttpServer<Deno.NetAddr>,
  ) {
    this.#upstream = upstream;
    this.#app = app;
    this.#proxy = proxy;
    this.#bare = bare;
  }

  static async start(): Promise<Rig> {
    const bodies = { short: frames(SHORT_FRAMES), long: frames(LONG_FRAMES) };
    const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const text = await req.text();
      return new Response(text.includes("LONG_ANSWER") ? bodies.long : bodies.short, {
        headers: { "content-type": "application/vnd.amazon.eventstream" },
      });
    });
    const app = makeTestApp({
      realClock: true,
      env: { API_KEY: CLIENT_KEY, AMAZONQ_API_ENDPOINT: `http://127.0.0.1:${upstream.addr.port}/` },
    });
    await app.store.accounts.create({
      type: "amazonq",
      clientId: "cid",
      clientSecret: "csecret",
      refreshToken: "rt",
      accessToken: "at",
      tokenExpiresAt: Date.now() + 3_600_000,
      rate_limit_per_hour: 0,
    });
    const proxy = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request, info) => app.app.fetch(request, { remoteAddr: info.remoteAddr }),
    );
    // The baseline: a bare Deno pass-through that forwards the request and streams the upstream bytes back
    // untouched (no parsing, no conversion, no accounts).
    const upstreamUrl = `http://127.0.0.1:${upstream.addr.port}/`;
    const bare = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
      const answer = await fetch(upstreamUrl, {
        method: "POST",
        headers: request.headers,
        body: request.body,
      });
      return new Response(answer.body, {
        headers: { "content-type": answer.headers.get("content-type") ?? "" },
      });
    });
    return new Rig(upstream, app, proxy, bare);
  }

  /** Through the bare pass-through; counts upstream frames as its events. */
  async passthrough(body: string): Promise<Timing> {
    const start = performance.now();
    const response = await fetch(`http://127.0.0.1:${this.#bare.addr.port}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0" },
      body,
    });
    const timing = await timed(start, response, false);
    return { ...timing, events: body.includes("LONG_ANSWER") ? LONG_FRAMES : SHORT_FRAMES };
  }

  async direct(body: string): Promise<Timing> {
    const start = performance.now();
    const response = await fetch(`http://127.0.0.1:${this.#upstream.addr.port}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0" },
      body,
    });
    const timing = await timed(start, response, false);
    return { ...timing, events: body.includes("LONG_ANSWER") ? LONG_FRAMES : SHORT_FRAMES };
  }

  async proxied(body: string): Promise<Timing> {
    const start = performance.now();
    const response = await fetch(`http://127.0.0.1:${this.#proxy.addr.port}/v1/messages?beta=true`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": CLIENT_KEY,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        "x-claude-code-session-id": "bench-session",
      },
      body,
    });
    if (response.status !== 200) {
      throw new Error(`proxy answered ${response.status}: ${await response.text()}`);
    }
    return await timed(start, response, true);
  }

  async close(): Promise<void> {
    await this.#bare.shutdown();
    await this.#proxy.shutdown();
    await this.#upstream.shutdown();
    await this.#app.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/**
 * Concurrent load: `workers` clients send requests back to back for `ms` (bounded in time and count) and
 * the events delivered per second are counted.
 */
async function load(
  send: (body: string) => Promise<Timing>,
  workers: number,
  ms: number,
): Promise<{ requests: number; eventsPerSecond: number; requestsPerSecond: number }> {
  const until = performance.now() + ms;
  let requests = 0;
  let events = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; i < 100_000 && performance.now() < until; i++) {
      const timing = await send(JSON.stringify(claudeCodeTurn(10_000 + w * 100_000 + i, false)));
      requests++;
      events += timing.events;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  return {
    requests,
    eventsPerSecond: Math.round(events / seconds),
    requestsPerSecond: round(requests / seconds, 1),
  };
}

async function measure(): Promise<void> {
  const rig = await Rig.start();
  try {
    const bodyBytes = JSON.stringify(claudeCodeTurn(0, false)).length;
    for (let i = 0; i < WARMUP; i++) {
      const body = JSON.stringify(claudeCodeTurn(i, false));
      await rig.direct(body);
      await rig.proxied(body);
    }
    const direct: Timing[] = [];
    const proxied: Timing[] = [];
    for (let i = 0; i < RUNS; i++) {
      const body = JSON.stringify(claudeCodeTurn(WARMUP + i, false));
      // Interleaved, alternating which goes first, so drift and GC land on both sides.
      if (i % 2 === 0) {
        direct.push(await rig.direct(body));
        proxied.push(await rig.proxied(body));
      } else {
        proxied.push(await rig.proxied(body));
        direct.push(await rig.direct(body));
      }
    }
    const longDirect: Timing[] = [];
    const longProxied: Timing[] = [];
    for (let i = 0; i < LONG_RUNS; i++) {
      const body = JSON.stringify(claudeCodeTurn(1000 + i, true));
      longDirect.push(await rig.direct(body));
      longProxied.push(await rig.proxied(body));
    }
    const bare: Timing[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(await rig.passthrough(JSON.stringify(claudeCodeTurn(500 + i, false))));
    }
    const loadBare = await load((body) => rig.passthrough(body), 8, 2000);
    const loadProxy = await load((body) => rig.proxied(body), 8, 2000);
    const ttfbDirect = median(direct.map((t) => t.ttfb));
    const ttfbProxy = median(proxied.map((t) => t.ttfb));
    const totalDirect = median(direct.map((t) => t.total));
    const totalProxy = median(proxied.map((t) => t.total));
    const longDirectMs = median(longDirect.map((t) => t.total));
    const longProxyMs = median(longProxied.map((t) => t.total));
    const proxyEvents = median(longProxied.map((t) => t.events));
    const summary = {
      request_body_bytes: bodyBytes,
      runs: RUNS,
      ttfb_direct_ms: round(ttfbDirect),
      ttfb_bare_passthrough_ms: round(median(bare.map((t) => t.ttfb))),
      ttfb_proxy_ms: round(ttfbProxy),
      ttfb_added_ms: round(ttfbProxy - ttfbDirect),
      ttfb_added_ms_median_of_pairs: round(median(proxied.map((p, i) => p.ttfb - direct[i]!.ttfb))),
      complete_direct_ms: round(totalDirect),
      complete_proxy_ms: round(totalProxy),
      complete_added_ms: round(totalProxy - totalDirect),
      long_answer_frames: LONG_FRAMES,
      long_direct_ms: round(longDirectMs, 1),
      long_proxy_ms: round(longProxyMs, 1),
      upstream_frames_per_s_direct: Math.round(LONG_FRAMES / (longDirectMs / 1000)),
      sse_events_per_s_via_proxy: Math.round(proxyEvents / (longProxyMs / 1000)),
      upstream_frames_per_s_via_proxy: Math.round(LONG_FRAMES / (longProxyMs / 1000)),
      sse_events_per_answer: proxyEvents,
      load_8_clients_bare_passthrough: loadBare,
      load_8_clients_proxy: loadProxy,
      // Requests, not events: the proxy's answers count SSE events (about twice the upstream frames).
      load_proxy_share_of_bare_requests_per_s: round(
        loadProxy.requestsPerSecond / loadBare.requestsPerSecond,
        3,
      ),
    };
    // deno-lint-ignore no-console
    console.log(`latency_bench summary ${JSON.stringify(summary, null, 2)}`);
  } finally {
    await rig.close();
  }
}

await measure();

const SHORT_BODY = JSON.stringify(claudeCodeTurn(0, false));
const LONG_BODY = JSON.stringify(claudeCodeTurn(0, true));

for (
  const [name, body, via] of [
    ["short answer, direct upstream", SHORT_BODY, "direct"],
    ["short answer, through the proxy (cold app)", SHORT_BODY, "proxy"],
    [`${LONG_FRAMES}-frame answer, direct upstream`, LONG_BODY, "direct"],
    [`${LONG_FRAMES}-frame answer, through the proxy (cold app)`, LONG_BODY, "proxy"],
  ] as const
) {
  Deno.bench({
    name,
    group: body === SHORT_BODY ? "short" : "long",
    baseline: via === "direct",
    n: 10,
    warmup: 1,
    async fn(b) {
      const rig = await Rig.start();
      try {
        b.start();
        if (via === "direct") await rig.direct(body);
        else await rig.proxied(body);
        b.end();
      } finally {
        await rig.close();
      }
    },
  });
}
