/**
 * What the prompt-cache simulation adds to a request: `PromptCacheSimulator.simulate` + `commit` on a
 * Claude Code-sized request (20 tools with large schemas, a 3k-token system prompt, a history of about 50k
 * tokens in tool-use turns, breakpoints where Claude Code puts them: last tool, system, last two messages).
 *
 * Each round is the next turn of the conversation, parsed from JSON so every string is fresh as it is for a
 * real request, and counted once by `countRequest` first, untimed, as the gateway already does; the timed part
 * is only the simulation (block walk, counts from the warm estimator memo, digests, one lookup, one upsert in
 * the in-memory store). Prints the median (the goal is under 0.2 ms) next to the median of a second
 * `countRequest` of the same request: the simulation's total equals that count, so a gateway that simulates
 * need not count separately.
 *
 * A second measurement times the path the gateway runs: `UsageAccounting.prepare` (the walk, which is the
 * count when simulation is on, calibration, breakpoint validation, digests) + `simulate()` + `commit()`
 * against the SQLite store (`:memory:`), i.e. one `SELECT ... IN` and one multi-row upsert, and prints it next
 * to the plain count the gateway does when simulation is off; the difference is what the simulation adds per
 * request. Nothing runs per stream
 * event (`UsageSplitStage` only copies numbers into `message_start` and `message_delta`).
 *
 * Run: `npx -y deno@2.9.6 bench --allow-read --allow-write --allow-env bench/prompt_cache_bench.ts`.
 */
import { normalizeClaudeRequest } from "../lib/claude/normalize_request.ts";
import type { RawCountTokensRequest } from "../lib/claude/request_schema.ts";
import { MemoryCacheEntryStore } from "../lib/usage/memory_cache_entry_store.ts";
import { PromptCacheSimulator } from "../lib/usage/prompt_cache_simulator.ts";
import { TokenEstimator } from "../lib/usage/token_estimator.ts";
import { UsageAccounting } from "../lib/usage/usage_accounting.ts";
import { openSqliteStore } from "../lib/store/sqlite_store.ts";
import { NullLogger } from "../lib/log.ts";

/** Deterministic PRNG (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = seeded(42);
const WORDS = [
  "const",
  "return",
  "function",
  "value",
  "import",
  "export",
  "the",
  "file",
  "if",
  "await",
  "string",
];
function text(words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(random() * WORDS.length)]!);
  return out.join(random() < 0.5 ? " " : "\n  ");
}

const EPHEMERAL = { type: "ephemeral" };
const tools = Array.from({ length: 20 }, (_, i) => ({
  name: `Tool${i}`,
  description: text(250),
  input_schema: {
    type: "object",
    properties: Object.fromEntries(
      Array.from({ length: 6 }, (_, j) => [`arg${j}`, { type: "string", description: text(30) }]),
    ),
    required: ["arg0"],
  },
  ...(i === 19 ? { cache_control: EPHEMERAL } : {}),
}));
const system = [{ type: "text", text: text(2200), cache_control: EPHEMERAL }];

/** History: turns of assistant tool_use + user tool_result, about 50k tokens in all. */
type Msg = { role: "user" | "assistant"; content: Record<string, unknown>[] };
const history: Msg[] = [{ role: "user", content: [{ type: "text", text: text(60) }] }];
for (let i = 0; history.length < 260; i++) {
  history.push({
    role: "assistant",
    content: [
      { type: "text", text: text(20) },
      { type: "tool_use", id: `toolu_${i}`, name: `Tool${i % 20}`, input: { arg0: text(8) } },
    ],
  });
  history.push({
    role: "user",
    content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: text(220) }],
  });
}

/** The request of turn `n` (n messages of history), with Claude Code's two trailing breakpoints. */
function turn(n: number): string {
  const messages = history.slice(0, n).map((m) => ({ ...m, content: m.content.map((b) => ({ ...b })) }));
  for (const m of messages.slice(-2)) m.content.at(-1)!.cache_control = EPHEMERAL;
  return JSON.stringify({ model: "claude-sonnet-4-5", tools, system, messages });
}

const FIRST = 201;
const bodies = Array.from({ length: 60 }, (_, i) => turn(FIRST + i));
const estimator = new TokenEstimator();
let clock = Date.UTC(2026, 11, 3, 12);
const simulator = new PromptCacheSimulator({
  counter: estimator,
  store: new MemoryCacheEntryStore(),
  now: () => clock,
});

async function step(i: number, time: (run: () => Promise<void>) => Promise<void>) {
  const request = normalizeClaudeRequest(JSON.parse(bodies[i % bodies.length]!) as RawCountTokensRequest);
  estimator.countRequest(request); // the gateway counts every request already
  clock += 2_000;
  await time(async () => {
    const result = await simulator.simulate({ request, keyId: "key-1" });
    await result.commit();
  });
}

// Median over a replay of the conversation, printed once.
{
  const first = normalizeClaudeRequest(JSON.parse(bodies[0]!) as RawCountTokensRequest);
  const total = estimator.countRequest(first);
  for (let i = 0; i < 20; i++) await step(i, (run) => run());
  const times: number[] = [];
  for (let i = 0; i < 400; i++) {
    await step(i, async (run) => {
      const start = performance.now();
      await run();
      times.push(performance.now() - start);
    });
  }
  times.sort((a, b) => a - b);
  // For scale: what the estimator's own count of the same request costs (the simulation's total equals it).
  const counts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const request = normalizeClaudeRequest(JSON.parse(bodies[i % bodies.length]!) as RawCountTokensRequest);
    estimator.countRequest(request);
    const start = performance.now();
    estimator.countRequest(request);
    counts.push(performance.now() - start);
  }
  counts.sort((a, b) => a - b);
  const stats = await simulator.stats();
  // deno-lint-ignore no-console
  console.log(
    `prompt cache simulation: median ${times[200]!.toFixed(3)} ms, p95 ${times[380]!.toFixed(3)} ms ` +
      `per request (${total} input tokens, ${
        first.tools!.length
      } tools, ${first.messages.length} messages; ` +
      `hit rate ${(stats.hitRate * 100).toFixed(0)} %); countRequest on the same request: median ` +
      `${counts[100]!.toFixed(3)} ms`,
  );
}

// The wired path: what `MessageGateway.open` runs, against the SQL store, versus the plain count.
{
  const store = openSqliteStore(":memory:", { now: () => clock });
  const accounting = new UsageAccounting({
    store,
    estimator,
    now: () => clock,
    log: new NullLogger(),
    simulate: true,
  });
  const wired: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < 420; i++) {
    const request = normalizeClaudeRequest(JSON.parse(bodies[i % bodies.length]!) as RawCountTokensRequest);
    estimator.countRequest(request); // `openForRequest` counts ahead (countRequestAsync)
    clock += 2_000;
    let start = performance.now();
    estimator.countRequest(request);
    const countMs = performance.now() - start;
    start = performance.now();
    const input = accounting.prepare(request, "key:bench", "claude-sonnet-4-5");
    const simulation = await input.simulation!.simulate();
    await simulation.commit();
    const wiredMs = performance.now() - start;
    if (i >= 20) {
      wired.push(wiredMs);
      plain.push(countMs);
    }
  }
  wired.sort((a, b) => a - b);
  plain.sort((a, b) => a - b);
  const stats = await accounting.cacheStats();
  // deno-lint-ignore no-console
  console.log(
    `wired path (prepare + SQLite lookup + upsert): median ${wired[200]!.toFixed(3)} ms, p95 ${
      wired[380]!.toFixed(3)
    } ms; the count alone: median ${plain[200]!.toFixed(3)} ms; added by the simulation: median ${
      (wired[200]! - plain[200]!).toFixed(3)
    } ms (hit rate ${(stats.hitRate * 100).toFixed(0)} %)`,
  );
  await store.close();
}

let n = 0;
Deno.bench("prompt cache simulation, Claude Code-sized request", async (b) => {
  await step(n++, async (run) => {
    b.start();
    await run();
    b.end();
  });
});
