/**
 * End-to-end load harness (`deno task bench:load [--quick] [--profile=DIR]`): the real server (`main.ts`,
 * SQLite in a temp file, one Amazon Q account seeded from `AMAZONQ_*` and pointed at a fake) against a
 * floor, a bare `Deno.serve` + `fetch` pass-through of the same fake Amazon Q, in one run. Each is its own
 * process, and so are the fake upstream and the load generators (`load_client.ts`), so CPU (utime+stime)
 * and RSS read from `/proc/<pid>` are the server's or the floor's alone. Rounds alternate which of the two
 * goes first; the report gives per-measure medians over rounds, the ratio to the floor, and the issue's
 * goals (met or not), plus every stream that ended without its end marker or with an error.
 * `--profile=DIR` instead runs the server under the inspector: CPU profiles of sequential short requests and
 * of the 128-stream load, and a sampling heap profile with thousands of slow streams open, written to DIR
 * and summarized.
 * `--only=TEXT` runs only the phases whose name contains TEXT.
 * Bounded: every request has a client time-out and the full run stays under 5 minutes (`--quick`: ~1).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InspectorSession } from "./inspector_session.ts";
import { profileSummary, projectInclusive, withoutInspectorWork } from "./profile_summary.ts";
import { baseEnv, FLAGS, MAIN, readLines } from "../../tests/_helpers/server_process.ts";

const quick = Deno.args.includes("--quick");
const profileDir = Deno.args.find((a) => a.startsWith("--profile="))?.slice("--profile=".length);
/** `--only=TEXT`: run only the phases whose name contains TEXT (e.g. `--only=slow`), to chase one finding. */
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const HERE = fileURLToPath(new URL(".", import.meta.url));
const API_KEY = "load-harness-key-0123456789";
/** How long the idle RSS is read after warm-up: past the token count worker's 30 s idle stop. */
const IDLE_SETTLE_MS = 32_000;
/** Phases start only while they fit; a failing slow phase may overrun by its time-out (2 × 30 s at most). */
const RUN_BUDGET_MS = (quick ? 70_000 : 240_000) + IDLE_SETTLE_MS;
/** A slow stream lasts 10 s; one not done in three times that is a failure, and the phase stays bounded. */
const SLOW_TIMEOUT_MS = 30_000;
const ROUNDS = quick ? 1 : 3;
const SIZES = {
  sequential: quick ? 40 : 100,
  big: quick ? 3 : 6,
  slow: quick ? [1_000] : [2_000, 5_000],
  /** Longest a phase of one side may take: on a loaded machine it does less work, not more time. */
  windowMs: quick ? 3_000 : 5_000,
  /** New slow streams per second (all load generators together). */
  rampPerSecond: 1_000,
};
/** One load generator per this many slow streams (each holds its connections and timers). */
const STREAMS_PER_CLIENT = 1_250;
const CLK_TCK = 100;
const runStarted = Date.now();
// deno-lint-ignore no-console
const print = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
};

interface Child {
  pid: number;
  lines: string[];
  stop(): Promise<void>;
}

/** Spawns a process and resolves once one of its output lines yields a value (its port or URL). */
async function spawn<T>(
  args: string[],
  env: Record<string, string>,
  ready: (line: string) => T | undefined,
): Promise<Child & { value: T }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    clearEnv: true,
    env: { ...baseEnv(), ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let onReady: (value: T) => void = () => {};
  const found = new Promise<T>((resolve) => onReady = resolve);
  const onLine = (line: string) => {
    if (!/"level":"(info|debug)"/.test(line)) lines.push(line);
    if (lines.length > 200) lines.shift();
    const value = ready(line);
    if (value !== undefined) onReady(value);
  };
  readLines(child.stdout, onLine);
  readLines(child.stderr, onLine);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const value = await Promise.race([
    found,
    child.status.then((s) =>
      Promise.reject(new Error(`${args.at(-1)} exited (${s.code}): ${lines.join("\n")}`))
    ),
    new Promise<never>((_, reject) =>
      timer = setTimeout(() => reject(new Error(`${args} not ready`)), 60_000)
    ),
  ]).finally(() => clearTimeout(timer));
  return {
    pid: child.pid,
    lines,
    value,
    stop: async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await child.stdin.close().catch(() => {});
    },
  };
}

function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLK_TCK;
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1]);
  return kb / 1024;
}

/** Samples VmRSS every 100 ms until stopped; returns the peak. */
function rssSampler(pid: number): () => number {
  let peak = rssMiB(pid);
  const timer = setInterval(() => peak = Math.max(peak, rssMiB(pid)), 100);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssMiB(pid));
  };
}

interface ClientResult {
  wallMs: number;
  ttfb: number[];
  firstDelta: number[];
  last: number[];
  deltas: number;
  outcomes: Record<string, number>;
}

/** Runs one job over `processes` load generators, each with its share; the results are merged. */
async function runClients(
  job: {
    url: string;
    kind: string;
    raw: boolean;
    concurrency: number;
    total: number;
    timeoutMs: number;
    durationMs?: number;
    rampPerSecond?: number;
  },
  processes = 1,
): Promise<ClientResult> {
  const results = await Promise.all(Array.from({ length: processes }, async (_, i) => {
    const share = (n: number) => Math.floor(n / processes) + (i < n % processes ? 1 : 0);
    const part = {
      ...job,
      concurrency: share(job.concurrency),
      total: share(job.total),
      apiKey: API_KEY,
      ...(job.rampPerSecond ? { rampPerSecond: job.rampPerSecond / processes } : {}),
    };
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", join(HERE, "load_client.ts"), JSON.stringify(part)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout).trim();
    if (!output.success) throw new Error(`load client failed: ${new TextDecoder().decode(output.stderr)}`);
    return JSON.parse(text.split("\n").at(-1)!) as ClientResult;
  }));
  const merged: ClientResult = { wallMs: 0, ttfb: [], firstDelta: [], last: [], deltas: 0, outcomes: {} };
  for (const r of results) {
    merged.wallMs = Math.max(merged.wallMs, r.wallMs);
    merged.ttfb.push(...r.ttfb);
    merged.firstDelta.push(...r.firstDelta);
    merged.last.push(...r.last);
    merged.deltas += r.deltas;
    for (const [k, n] of Object.entries(r.outcomes)) merged.outcomes[k] = (merged.outcomes[k] ?? 0) + n;
  }
  return merged;
}

interface Target {
  name: "floor" | "server";
  url: string;
  pid: number;
  raw: boolean;
  failures: Record<string, number>;
  metrics: Map<string, number[]>;
}

function record(target: Target, key: string, value: number): void {
  const list = target.metrics.get(key) ?? [];
  list.push(value);
  target.metrics.set(key, list);
}

/** Runs a job against a target while reading its CPU and peak RSS; failures are tallied. */
async function measure(
  target: Target,
  kind: string,
  concurrency: number,
  total: number,
  timeoutMs: number,
  window: { durationMs?: number; rampPerSecond?: number } = {},
) {
  const processes = Math.max(1, Math.ceil(concurrency / STREAMS_PER_CLIENT));
  const cpuBefore = cpuMs(target.pid);
  const peak = rssSampler(target.pid);
  const result = await runClients(
    { url: target.url, kind, raw: target.raw, concurrency, total, timeoutMs, ...window },
    processes,
  );
  const cpu = cpuMs(target.pid) - cpuBefore;
  const rss = peak();
  for (const [outcome, n] of Object.entries(result.outcomes)) {
    if (outcome !== "ok" && outcome !== "cut at the end of the window") {
      target.failures[`${kind}: ${outcome}`] = (target.failures[`${kind}: ${outcome}`] ?? 0) + n;
    }
  }
  return { ...result, cpu, rss };
}

type Phase = { name: string; run(target: Target): Promise<string> };

const PHASES: Phase[] = [
  {
    name: "sequential short (20 deltas)",
    run: async (t) => {
      const r = await measure(t, "short", 1, SIZES.sequential, 10_000, { durationMs: SIZES.windowMs });
      const done = r.last.length;
      record(t, "ttfb", median(r.ttfb));
      record(t, "firstDelta", median(r.firstDelta));
      record(t, "last", median(r.last));
      record(t, "cpuPerShort", r.cpu / done);
      return `ttfb ${median(r.ttfb).toFixed(2)} ms, first delta ${median(r.firstDelta).toFixed(2)} ms, ` +
        `last byte ${median(r.last).toFixed(2)} ms, CPU ${
          (r.cpu / done).toFixed(2)
        } ms/request (${done} requests)`;
    },
  },
  ...[32, 128].map((streams): Phase => ({
    name: `${streams} concurrent streams × 300 deltas`,
    run: async (t) => {
      const r = await measure(t, "long", streams, streams * 100, 60_000, { durationMs: SIZES.windowMs });
      const rate = r.deltas / (r.wallMs / 1000);
      record(t, `eps${streams}`, rate);
      record(t, `cpuPer1k${streams}`, r.cpu / (r.deltas / 1000));
      record(t, `rss${streams}`, r.rss);
      return `${Math.round(rate)} events/s, CPU ${
        (r.cpu / (r.deltas / 1000)).toFixed(1)
      } ms per 1,000 events, ` +
        `peak RSS ${r.rss.toFixed(0)} MiB`;
    },
  })),
  {
    name: "2 MB Claude Code-shaped request, sequential",
    run: async (t) => {
      const r = await measure(t, "big", 1, SIZES.big, 30_000, { durationMs: SIZES.windowMs });
      const done = r.last.length;
      record(t, "bigFirstDelta", median(r.firstDelta));
      record(t, "bigCpu", r.cpu / done);
      return `first delta ${median(r.firstDelta).toFixed(1)} ms, CPU ${
        (r.cpu / done).toFixed(1)
      } ms/request ` +
        `(${done} requests)`;
    },
  },
];

const SLOW_PHASES: Phase[] = SIZES.slow.map((streams) => ({
  name: `${streams} concurrent slow streams (40 deltas, one per 250 ms)`,
  run: async (t) => {
    const r = await measure(t, "slow", streams, streams, SLOW_TIMEOUT_MS, {
      rampPerSecond: SIZES.rampPerSecond,
    });
    const p99 = percentile(r.ttfb, 0.99);
    record(t, `slowTtfb${streams}`, p99);
    record(t, `slowRss${streams}`, r.rss);
    const failed = Object.entries(r.outcomes).filter(([k]) => k !== "ok").reduce((n, [, v]) => n + v, 0);
    record(t, `slowFailed${streams}`, failed);
    return `ttfb p99 ${p99.toFixed(0)} ms (median ${median(r.ttfb).toFixed(0)} ms), peak RSS ${
      r.rss.toFixed(0)
    } MiB, ${failed} failed`;
  },
}));

// --- processes --------------------------------------------------------------------------------------

const temp = Deno.makeTempDirSync({ prefix: "amq2api-load-" });
const upstream = await spawn(
  ["run", "--allow-net", join(HERE, "fake_upstream.ts")],
  {},
  (line) => line.startsWith('{"port"') ? JSON.parse(line).port as number : undefined,
);
const upstreamUrl = `http://127.0.0.1:${upstream.value}`;
const floor = await spawn(
  ["run", "--allow-net", join(HERE, "floor.ts"), `${upstreamUrl}/`],
  {},
  (line) => line.startsWith('{"port"') ? JSON.parse(line).port as number : undefined,
);
const server = await spawn(
  // `deno task start`'s flags (FLAGS[0] is `run`), with the inspector when profiling.
  [FLAGS[0]!, ...(profileDir ? ["--inspect=127.0.0.1:0"] : []), ...FLAGS.slice(1), MAIN],
  {
    PORT: "0",
    DATABASE_URL: `sqlite:${join(temp, "load.sqlite")}`,
    API_KEY,
    MAX_CONNECTIONS_PER_IP: "0",
    AMAZONQ_REFRESH_TOKEN: "load-refresh-token-0123456789",
    AMAZONQ_API_ENDPOINT: `${upstreamUrl}/`,
    KIRO_REFRESH_ENDPOINT: `${upstreamUrl}/refreshToken`,
  },
  (line) => /"msg":"listening".*"url":"(http:\/\/[^"]+)"/.exec(line)?.[1],
);
const inspectorUrl = server.lines.map((l) => /(ws:\/\/\S+)/.exec(l)?.[1]).find(Boolean);

const targets: Target[] = [
  { name: "floor", url: `http://127.0.0.1:${floor.value}/`, pid: floor.pid, raw: true },
  { name: "server", url: `${server.value}/v1/messages`, pid: server.pid, raw: false },
].map((t) => ({ ...t, failures: {}, metrics: new Map() } as Target));

const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
print(
  `bench:load ${
    quick ? "--quick " : ""
  }· ${navigator.hardwareConcurrency} cores · load average ${load()} · ` +
    `server pid ${server.pid}, floor pid ${floor.pid}, fake Amazon Q pid ${upstream.pid}`,
);

try {
  // Warm-up: JIT, connection pools, the account's token, the tokenizer.
  for (const t of targets) {
    await runClients({ url: t.url, kind: "short", raw: t.raw, concurrency: 4, total: 20, timeoutMs: 10_000 });
    await runClients({ url: t.url, kind: "long", raw: t.raw, concurrency: 8, total: 8, timeoutMs: 30_000 });
    await runClients({ url: t.url, kind: "big", raw: t.raw, concurrency: 1, total: 2, timeoutMs: 30_000 });
  }
  await sleep(2_000);
  const settling = `floor ${rssMiB(floor.pid).toFixed(0)} MiB, server ${rssMiB(server.pid).toFixed(0)} MiB`;
  // Idle means idle: past the token count worker's own idle stop (30 s), which a 2 MB request starts.
  await sleep(IDLE_SETTLE_MS - 2_000);
  for (const t of targets) record(t, "idleRss", rssMiB(t.pid));
  print(
    `idle RSS after start and warm-up: 2 s after it ${settling}; ${IDLE_SETTLE_MS / 1000} s after it floor ${
      rssMiB(floor.pid).toFixed(0)
    } MiB, server ${rssMiB(server.pid).toFixed(0)} MiB`,
  );

  if (profileDir) await profile(profileDir);
  else {
    // Slow streams last: the memory they leave behind would inflate the other phases' peak RSS. They take
    // ~10 s a side whatever the machine, so they run once.
    const schedule = [
      ...Array.from({ length: ROUNDS }, (_, round) => PHASES.map((phase) => ({ round, phase }))).flat(),
      ...SLOW_PHASES.map((phase) => ({ round: 0, phase })),
    ].filter(({ phase }) => only === undefined || phase.name.includes(only));
    for (const { round, phase } of schedule) {
      // A phase starts only if both sides fit in the budget when they work as they should.
      const slow = phase.name.includes("slow");
      const streams = Number(/^(\d+)/.exec(phase.name)?.[1] ?? 0);
      const worstMs = 2 * (slow ? streams / SIZES.rampPerSecond * 1000 + 13_000 : SIZES.windowMs + 3_000);
      if (Date.now() - runStarted + worstMs > RUN_BUDGET_MS) {
        print(`round ${round + 1} ${phase.name}: skipped, the run's time budget is spent`);
        continue;
      }
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        print(`round ${round + 1} ${t.name.padEnd(6)} ${phase.name}: ${await phase.run(t)}`);
        if (slow) await sleep(1_000); // let the last connections close
      }
    }
    report();
  }
} finally {
  await Promise.all([server.stop(), floor.stop(), upstream.stop()]);
  Deno.removeSync(temp, { recursive: true });
  print(`bench:load: done in ${Math.round((Date.now() - runStarted) / 1000)} s · load average ${load()}`);
}

function report(): void {
  const [f, s] = targets as [Target, Target];
  const m = (t: Target, key: string) => median(t.metrics.get(key) ?? []);
  const rows: Array<[string, string, string, (a: number, b: number) => string, string, boolean | null]> = [];
  const times = (a: number, b: number) => `${(b / a).toFixed(2)}×`;
  const plus = (a: number, b: number) => `${b - a >= 0 ? "+" : ""}${(b - a).toFixed(2)} ms`;
  const pct = (a: number, b: number) => `${(100 * b / a).toFixed(0)} %`;
  const row = (
    label: string,
    key: string,
    unit: string,
    ratio: typeof times,
    goal = "",
    met: boolean | null = null,
  ) => rows.push([label, key, unit, ratio, goal, met]);
  const r = (key: string) => m(s, key) / m(f, key);
  row("sequential short: time to first byte", "ttfb", "ms", plus);
  row("sequential short: first content delta", "firstDelta", "ms", plus);
  row("sequential short: last byte", "last", "ms", plus, "≤ floor + 1 ms", m(s, "last") - m(f, "last") <= 1);
  row("CPU per short request", "cpuPerShort", "ms", times, "≤ 2×", r("cpuPerShort") <= 2);
  row("events/s, 32 streams × 300", "eps32", "/s", pct);
  row("CPU per 1,000 events, 32 streams", "cpuPer1k32", "ms", times);
  row("events/s, 128 streams × 300", "eps128", "/s", pct, "≥ 60 %", r("eps128") >= 0.6);
  row("CPU per 1,000 events, 128 streams", "cpuPer1k128", "ms", times, "≤ 2×", r("cpuPer1k128") <= 2);
  row("peak RSS under 128 streams", "rss128", "MiB", times);
  for (const n of SIZES.slow) {
    const ok = m(s, `slowFailed${n}`) === 0;
    row(
      `${n} slow streams: TTFB p99`,
      `slowTtfb${n}`,
      "ms",
      times,
      n === 5000 ? "≤ 1.5×, no errors" : "",
      n === 5000 ? r(`slowTtfb${n}`) <= 1.5 && ok : null,
    );
    row(
      `${n} slow streams: peak RSS`,
      `slowRss${n}`,
      "MiB",
      times,
      n === 5000 ? "≤ 1.5×" : "",
      n === 5000 ? r(`slowRss${n}`) <= 1.5 : null,
    );
    row(`${n} slow streams: failed`, `slowFailed${n}`, "", (a, b) => `${b - a >= 0 ? "+" : ""}${b - a}`);
  }
  row(
    "2 MB request: first delta",
    "bigFirstDelta",
    "ms",
    plus,
    "≤ floor + 10 ms",
    m(s, "bigFirstDelta") - m(f, "bigFirstDelta") <= 10,
  );
  row("2 MB request: CPU", "bigCpu", "ms", times, "≤ 2×", r("bigCpu") <= 2);
  row("idle RSS after start and warm-up", "idleRss", "MiB", times, "server ≤ 80 MiB", m(s, "idleRss") <= 80);
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  print("");
  print(`| measure (median of rounds) | floor | server | ratio | goal | met |`);
  print(`| --- | --- | --- | --- | --- | --- |`);
  for (const [label, key, unit, ratio, goal, met] of rows) {
    const a = m(f, key);
    const b = m(s, key);
    if (!Number.isFinite(a) && !Number.isFinite(b)) continue;
    print(
      `| ${label} | ${fmt(a)} ${unit} | ${fmt(b)} ${unit} | ${ratio(a, b)} | ${goal} | ${
        met === null ? "" : met ? "yes" : "NO"
      } |`,
    );
  }
  for (const t of targets) {
    const failures = Object.entries(t.failures).map(([k, n]) => `${k} ×${n}`).join(", ");
    print(`${t.name}: streams that failed or ended without their end marker: ${failures || "none"}`);
  }
}

async function profile(dir: string): Promise<void> {
  if (!inspectorUrl) throw new Error("the server printed no inspector URL");
  Deno.mkdirSync(dir, { recursive: true });
  const session = await InspectorSession.connect(inspectorUrl);
  const s = targets[1]!;
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 200 });
    await session.send("Profiler.start");
    print(`profile: sequential short: ${await PHASES[0]!.run(s)}`);
    const { profile: rawSequential } = await session.send<{ profile: never }>("Profiler.stop");
    Deno.writeTextFileSync(join(dir, "server-sequential.cpuprofile"), JSON.stringify(rawSequential));
    const { profile: sequential, dropped: droppedSequential } = withoutInspectorWork(rawSequential);
    print(
      `(${(droppedSequential * 100).toFixed(1)} % of the samples were the inspector's own work, left out)`,
    );
    print(`CPU profile (sequential short requests), top functions by self time:`);
    for (const line of profileSummary(sequential, 15)) print(`  ${line}`);
    print("project functions by inclusive share of the samples:");
    for (const line of projectInclusive(sequential, 25)) print(`  ${line}`);
    await session.send("Profiler.start");
    print(`profile: 128 streams × 300 deltas: ${await PHASES[2]!.run(s)}`);
    const { profile: rawCpu } = await session.send<{ profile: never }>("Profiler.stop");
    Deno.writeTextFileSync(join(dir, "server-128-streams.cpuprofile"), JSON.stringify(rawCpu));
    const { profile: cpu, dropped } = withoutInspectorWork(rawCpu);
    print(`(${(dropped * 100).toFixed(1)} % of the samples were the inspector's own work, left out)`);
    print(
      `CPU profile (128 streams), top functions by self time (${
        join(dir, "server-128-streams.cpuprofile")
      }):`,
    );
    for (const line of profileSummary(cpu, 25)) print(`  ${line}`);
    print("project functions by inclusive share of the samples:");
    for (const line of projectInclusive(cpu, 25)) print(`  ${line}`);

    const streams = quick ? 2_000 : 5_000;
    await session.send("HeapProfiler.enable");
    await session.send("HeapProfiler.startSampling", { samplingInterval: 4096 });
    const running = measure(s, "slow", streams, streams, SLOW_TIMEOUT_MS, {
      rampPerSecond: SIZES.rampPerSecond,
    });
    await sleep(6_000);
    const usage = await session.send<{ usedSize: number; totalSize: number }>("Runtime.getHeapUsage");
    const status = Deno.readTextFileSync(`/proc/${s.pid}/status`);
    const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
    const { profile: heap } = await session.send<{ profile: never }>("HeapProfiler.stopSampling");
    Deno.writeTextFileSync(join(dir, "server-slow-streams.heapprofile"), JSON.stringify(heap));
    const result = await running;
    print(
      `memory with ${streams} slow streams open (6 s in): VmRSS ${field("VmRSS").toFixed(0)} MiB = ` +
        `RssAnon ${field("RssAnon").toFixed(0)} + RssFile ${field("RssFile").toFixed(0)} MiB; V8 heap used ${
          (usage.usedSize / 1048576).toFixed(0)
        } of ${(usage.totalSize / 1048576).toFixed(0)} MiB; peak RSS ${result.rss.toFixed(0)} MiB; ` +
        `${Object.entries(result.outcomes).map(([k, n]) => `${k} ×${n}`).join(", ")}`,
    );
    print(`live JS heap by allocating function (sampling heap profile):`);
    for (const line of profileSummary(heap, 20)) print(`  ${line}`);
  } finally {
    session.close();
  }
}
