/**
 * Soak: the real server (a subprocess under a lowered `ulimit -n`) with a fake Amazon Q (real AWS
 * event-stream frames, a Kiro token endpoint, three accounts), put through what an attacker or an unlucky
 * operator would do, one scenario after another beside steady normal traffic:
 *   baseline · connection flood past the descriptor limit · slow-header clients · upstream stalls before
 *   its headers · upstream stalls mid-stream · upstream cuts the connection before the first frame ·
 *   tokens revoked under a 100-request burst (three rounds) · worst-case token-count bodies.
 * Per scenario it prints requests completed, errors by class (HTTP status and Claude error type, stream
 * error event, truncated stream, client timeout), `/health` p99 while it ran, peak RSS of the server
 * (sampled VmRSS) and whether the process survived (a dead one is restarted for the next scenario).
 * Every request has a client-side timeout and every scenario a fixed length, so the run is bounded
 * (under 3 minutes). Run: `deno task soak`.
 */
import { randomBytes } from "node:crypto";
import { type FakeAmazonQ, startFakeAmazonQ } from "../tests/_helpers/fake_amazonq_server.ts";
import { type ServerProcess, startServer } from "../tests/_helpers/server_process.ts";

const ULIMIT = 512;
const SCENARIO_MS = 6_000;
const REQUEST_TIMEOUT_MS = 20_000;
const HEALTH_TIMEOUT_MS = 2_000;
const RUN_BUDGET_MS = 170_000;
const WORKERS = 4;
const MODEL = "claude-sonnet-4-6";
const ADMIN = { username: "soak-admin", password: "soak-admin-password" };
const SERVER_ENV = {
  HEADERS_TIMEOUT_SECONDS: "5",
  IDLE_TIMEOUT_SECONDS: "5",
  // The shortest upstream limits allowed, so a stalled upstream is seen failing within the client's timeout:
  // headers within 5 s, no silence over 5 s once streaming (three accounts tried: 15 s before the last answer).
  UPSTREAM_TIMEOUT_SECONDS: "5",
  UPSTREAM_IDLE_TIMEOUT_SECONDS: "5",
  // Every client here is 127.0.0.1: a per-address cap would lock the probes out with the flood.
  MAX_CONNECTIONS_PER_IP: "0",
  ADMIN_USERNAME: ADMIN.username,
  ADMIN_PASSWORD: ADMIN.password,
};

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Tally {
  completed = 0;
  sent = 0;
  errors = new Map<string, number>();
  add(outcome: string): void {
    this.sent++;
    if (outcome === "ok") this.completed++;
    else this.errors.set(outcome, (this.errors.get(outcome) ?? 0) + 1);
  }
  describe(): string {
    const errors = [...this.errors].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`);
    return `requests completed ${this.completed}/${this.sent}; errors: ${errors.join(", ") || "none"}`;
  }
}

/** One Claude request, classified: "ok" or the class of its failure. */
async function ask(url: string, body: unknown, timeoutMs = REQUEST_TIMEOUT_MS, path = "/v1/messages") {
  const signal = AbortSignal.timeout(timeoutMs);
  const stream = typeof body === "object" && body !== null && (body as { stream?: boolean }).stream === true;
  try {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    if (response.status !== 200) {
      let type = "?";
      try {
        type = JSON.parse(text)?.error?.type ?? "?";
      } catch { /* not JSON */ }
      return `HTTP ${response.status} ${type}`;
    }
    if (!stream) return "ok";
    const error = /event: error\ndata: (.*)/.exec(text)?.[1];
    if (error) {
      let type = "?";
      try {
        type = JSON.parse(error)?.error?.type ?? "?";
      } catch { /* not JSON */ }
      return `stream error event ${type}`;
    }
    return text.includes("event: message_stop") ? "ok" : "stream truncated";
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    return name === "TimeoutError" || name === "AbortError" ? "client timeout" : `network ${name}`;
  }
}

const message = (stream: boolean, content = "hello") => ({
  model: MODEL,
  max_tokens: 64,
  stream,
  messages: [{ role: "user", content }],
});

/** Steady normal traffic until `until`, every request bounded. */
async function normalTraffic(url: string, until: number, tally: Tally): Promise<void> {
  await Promise.all(Array.from({ length: WORKERS }, async (_, worker) => {
    for (let i = 0; Date.now() < until && i < 10_000; i++) {
      tally.add(await ask(url, message((i + worker) % 2 === 0)));
      await sleep(25);
    }
  }));
}

/** `/health` every 100 ms; latencies of failed probes count as their elapsed time. */
async function probeHealth(url: string, until: number) {
  const latencies: number[] = [];
  let failed = 0;
  for (let i = 0; Date.now() < until && i < 10_000; i++) {
    const started = performance.now();
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      await response.body?.cancel();
      if (response.status !== 200) failed++;
    } catch {
      failed++;
    }
    latencies.push(performance.now() - started);
    await sleep(100);
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? NaN;
  return { p99, failed, probes: latencies.length };
}

function sampleRss(pid: number, until: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let peak: number | undefined;
    const timer = setInterval(() => {
      try {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1]);
        if (Number.isFinite(kb)) peak = Math.max(peak ?? 0, Math.round(kb / 1024));
      } catch { /* gone */ }
      if (Date.now() >= until) {
        clearInterval(timer);
        resolve(peak);
      }
    }, 200);
  });
}

interface Context {
  server: ServerProcess;
  upstream: FakeAmazonQ;
}

interface Scenario {
  name: string;
  /** Runs beside normal traffic until `until`; may add its own requests to `tally`; returns extra notes. */
  run(ctx: Context, until: number, tally: Tally): Promise<string | void>;
  /** Longest the scenario's own work may outlive `until`. */
  graceMs?: number;
}

/** Holds up to `count` connections open until `until`, reopening any the server closes. */
async function flood(
  port: number,
  count: number,
  until: number,
  payload?: (conn: Deno.TcpConn) => Promise<void>,
) {
  let opened = 0;
  let refused = 0;
  let closedByServer = 0;
  const live = new Set<Deno.TcpConn>();
  await Promise.all(Array.from({ length: count }, async () => {
    for (let i = 0; Date.now() < until && i < 1_000; i++) {
      let conn: Deno.TcpConn;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        refused++;
        await sleep(200);
        continue;
      }
      opened++;
      live.add(conn);
      const buffer = new Uint8Array(1024);
      const closed = (async () => {
        try {
          while ((await conn.read(buffer)) !== null) { /* discard */ }
        } catch { /* reset */ }
        return true;
      })();
      const write = payload ? payload(conn).catch(() => {}) : Promise.resolve();
      const left = until - Date.now();
      const ended = await Promise.race([closed, sleep(Math.max(0, left)).then(() => false)]);
      live.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
      await write;
      if (ended) closedByServer++;
      else break;
    }
  }));
  for (const conn of live) {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return { opened, refused, closedByServer };
}

function worstCaseBodies(): Array<{ kind: string; body: string }> {
  const base64 = randomBytes(6 * 1024 * 1024).toString("base64"); // 8 MiB of text
  const depth = 100_000;
  const nested = "[".repeat(depth) + "]".repeat(depth);
  return [
    { kind: "8 MB base64", body: JSON.stringify(message(false, base64)) },
    { kind: "1M repeated letters", body: JSON.stringify(message(false, "a".repeat(1_000_000))) },
    {
      kind: "JSON nested 100k deep",
      body: `{"model":"${MODEL}","max_tokens":64,"messages":[{"role":"user","content":"hi"}],` +
        `"tools":[{"name":"t","input_schema":{"type":"object","x":${nested}}}]}`,
    },
  ];
}

const SCENARIOS: Scenario[] = [
  { name: "baseline (normal traffic only)", run: async () => {} },
  {
    name: `connection flood: ${
      ULIMIT * 2
    } idle connections against ulimit -n ${ULIMIT}, reopened when closed`,
    run: async ({ server }, until) => {
      const result = await flood(server.port, ULIMIT * 2, until);
      const ended = performance.now();
      let recovery = "no /health answer within 5 s";
      for (let i = 0; i < 50; i++) {
        const ok = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(1_000) })
          .then(async (r) => (await r.body?.cancel(), r.status === 200)).catch(() => false);
        if (ok) {
          recovery = `/health answered ${Math.round(performance.now() - ended)} ms after the flood ended`;
          break;
        }
        await sleep(100);
      }
      const exhausted = server.warnings().some((line) => /Too many open files/.test(line));
      return `flood: ${result.opened} connections opened, ${result.refused} connects refused, ` +
        `${result.closedByServer} closed by the server; server ran out of descriptors: ` +
        `${exhausted ? "yes" : "no"}; ${recovery}`;
    },
    graceMs: 6_000,
  },
  {
    name: "slow-header clients: 200 connections sending one header line a second",
    run: async ({ server }, until) => {
      const result = await flood(server.port, 200, until, async (conn) => {
        await conn.write(encoder.encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        for (let i = 0; Date.now() < until && i < 100; i++) {
          await sleep(1_000);
          await conn.write(encoder.encode(`X-Slow-${i}: still coming\r\n`));
        }
      });
      return `slow clients: ${result.opened} connections, ${result.closedByServer} closed by the server`;
    },
  },
  {
    name: "upstream stalls before its response headers",
    run: async ({ upstream }, until) => {
      upstream.setMode("stall-headers");
      await sleep(Math.max(0, until - Date.now()));
    },
  },
  {
    name: "upstream stalls mid-stream",
    run: async ({ upstream }, until) => {
      upstream.setMode("stall-mid");
      await sleep(Math.max(0, until - Date.now()));
    },
  },
  {
    name: "upstream cuts the connection before the first frame",
    run: async ({ upstream }, until) => {
      upstream.setMode("cut-early");
      await sleep(Math.max(0, until - Date.now()));
    },
  },
  {
    name: "tokens revoked at the upstream under a 100-request burst (3 rounds, 3 accounts)",
    run: async ({ server, upstream }, _until, tally) => {
      const before = { ...upstream.stats };
      for (let round = 0; round < 3; round++) {
        upstream.revokeTokens();
        const outcomes = await Promise.all(
          Array.from({ length: 100 }, (_, i) => ask(server.url, message(i % 2 === 0))),
        );
        for (const outcome of outcomes) tally.add(outcome);
      }
      return `upstream: ${upstream.stats.refreshes - before.refreshes} token refreshes, ` +
        `${upstream.stats.refused - before.refused} calls refused as invalid token`;
    },
    graceMs: 40_000,
  },
  {
    name: "worst-case token-count bodies (count_tokens and messages) beside normal traffic",
    run: async ({ server }, _until, tally) => {
      const bodies = worstCaseBodies();
      const results = await Promise.all(
        bodies.flatMap(({ kind, body }) =>
          ["/v1/messages/count_tokens", "/v1/messages"].map(async (path) => {
            const started = performance.now();
            const outcome = await ask(server.url, body, 20_000, path);
            tally.add(outcome);
            return `${kind} ${path.replace("/v1/messages", "messages")}: ${outcome} ` +
              `(${Math.round(performance.now() - started)} ms)`;
          })
        ),
      );
      return results.join("; ");
    },
    graceMs: 14_000,
  },
];

async function addAccounts(server: ServerProcess): Promise<void> {
  const login = await fetch(`${server.url}/api/admin/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ADMIN),
    signal: AbortSignal.timeout(10_000),
  });
  const { token } = await login.json();
  for (const n of [2, 3]) {
    const response = await fetch(`${server.url}/v2/accounts`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-session-token": token },
      body: JSON.stringify({
        type: "amazonq",
        label: `soak ${n}`,
        refreshToken: `fake-refresh-${n}-0123456789`,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`cannot add a soak account: HTTP ${response.status}`);
  }
}

async function launch(upstream: FakeAmazonQ): Promise<ServerProcess> {
  const server = await startServer({ ...SERVER_ENV, ...upstream.env() }, { ulimitNoFile: ULIMIT });
  await addAccounts(server);
  return server;
}

const runStarted = Date.now();
const upstream = await startFakeAmazonQ();
let server = await launch(upstream);
// deno-lint-ignore no-console
const print = (line: string) => console.log(line);
print(`soak: server pid ${server.pid} at ${server.url}, ulimit -n ${ULIMIT}, ${JSON.stringify(SERVER_ENV)}`);
try {
  for (const scenario of SCENARIOS) {
    const grace = scenario.graceMs ?? REQUEST_TIMEOUT_MS;
    if (Date.now() - runStarted + SCENARIO_MS + grace > RUN_BUDGET_MS) {
      print(`== ${scenario.name}\n   skipped: the run's time budget is spent`);
      continue;
    }
    upstream.setMode("normal");
    const until = Date.now() + SCENARIO_MS;
    const tally = new Tally();
    const traffic = normalTraffic(server.url, until, tally);
    const health = probeHealth(server.url, until);
    const rss = sampleRss(server.pid, until);
    let note: string | void = undefined;
    try {
      note = await scenario.run({ server, upstream }, until, tally);
    } catch (error) {
      note = `scenario failed: ${error instanceof Error ? error.message : error}`;
    }
    await traffic;
    const [h, peak] = await Promise.all([health, rss]);
    const alive = server.alive();
    print(`== ${scenario.name}`);
    print(`   ${tally.describe()}`);
    print(
      `   /health p99 ${h.p99.toFixed(1)} ms (${h.failed} of ${h.probes} probes failed) · ` +
        `peak RSS ${peak ?? "?"} MiB · survived: ${alive ? "yes" : "NO"}`,
    );
    if (note) print(`   ${note}`);
    if (!alive) {
      print(`   last log lines:\n     ${server.lines().slice(-3).join("\n     ")}`);
      server = await launch(upstream);
    }
  }
} finally {
  upstream.setMode("normal");
  await server.kill();
  await upstream.close();
  print(`soak: done in ${Math.round((Date.now() - runStarted) / 1000)} s`);
}
