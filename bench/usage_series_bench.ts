/**
 * The usage series API over one million raw records in SQLite (`:memory:`): records spread over the last 30
 * days (the default retention) across 4 models, 8 accounts on 4 channels, 3 client keys and a few failure
 * classes, written in one transaction. After one rollup (timed and printed) the series reads whole hours
 * from `usage_hourly` and only the hour since the watermark from raw records. Prints the median of each
 * query over 15 runs (the goal is under 100 ms), and, for scale, the same series read from raw records only.
 *
 * Run: `npx -y deno@2.9.6 bench --allow-read --allow-write --allow-env bench/usage_series_bench.ts`.
 */
import { openSqliteStore } from "../lib/store/sqlite_store.ts";
import type { SeriesQuery, UsageRecord } from "../lib/store/types.ts";

const ROWS = 1_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.UTC(2026, 11, 3, 12, 30);

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

const random = seeded(7);
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
const MODELS = ["claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5", "gemini-2.5-pro"];
const CHANNELS = ["amazonq", "gemini", "custom_api", "amazonq"];
const KEYS = ["key-a", "key-b", "key-c"];
const FAILURES = ["throttled", "quota", "transient", "client_closed"];

const store = openSqliteStore(":memory:", { now: () => now });
let started = performance.now();
const batch: UsageRecord[] = [];
for (let i = 0; i < ROWS; i++) {
  const account = Math.floor(random() * 8);
  const ok = random() > 0.03;
  batch.push({
    account_id: `acc-${account}`,
    model: pick(MODELS),
    channel: CHANNELS[account % 4]!,
    input_tokens: Math.floor(random() * 2000),
    output_tokens: ok ? Math.floor(random() * 800) : 0,
    cache_creation_input_tokens: Math.floor(random() * 4000),
    cache_read_input_tokens: Math.floor(random() * 60_000),
    created_at: now - Math.floor(random() * 30 * DAY),
    key_id: pick(KEYS),
    cost_usd: random() * 0.05,
    cost_status: "priced",
    outcome: ok ? "success" : pick(FAILURES),
    ttfb_ms: ok ? 200 + Math.floor(random() * 1500) : null,
    duration_ms: 1000 + Math.floor(random() * 20_000),
  });
  if (batch.length === 100_000) {
    await store.usage.recordMany(batch);
    batch.length = 0;
  }
}
// deno-lint-ignore no-console
console.log(`wrote ${ROWS} records in ${((performance.now() - started) / 1000).toFixed(1)} s`);

async function median(label: string, query: SeriesQuery, rounds = 15): Promise<void> {
  await store.usage.series(query);
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    rows = (await store.usage.series(query)).length;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  // deno-lint-ignore no-console
  console.log(`${label}: median ${times[rounds >> 1]!.toFixed(1)} ms (${rows} rows)`);
}

const queries: Array<[string, SeriesQuery]> = [
  ["30 days by day, group_by model", { bucket: "day", from: now - 30 * DAY, to: now, groupBy: "model" }],
  ["24 hours by hour, group_by account", { bucket: "hour", from: now - DAY, to: now, groupBy: "account" }],
  ["7 days by hour, one key's own", { bucket: "hour", from: now - 7 * DAY, to: now, keyId: "key-b" }],
];

// For scale: before any rollup everything is read from raw records.
await median("raw records only, 24 hours by hour, group_by account", queries[1]![1], 3);

started = performance.now();
const hours = await store.usage.rollup(now);
// deno-lint-ignore no-console
console.log(`rollup of ${hours} hours: ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const [label, query] of queries) await median(label, query);
await store.close();
