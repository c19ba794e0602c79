/**
 * What enforcing a client key's rules adds to a request: `KeyLimits.admit` (cached settings, model
 * allow-list, concurrency slot, the guarded charge transaction over the minute, day and month windows) and
 * the settlement at the end (one guarded-free `UPDATE`), on a SQLite file store holding 1,000 keys that
 * each have every limit set. Requests go to keys picked at random, so windows are created as they would be.
 * Prints the median and p95 per request (the goal is a median under 0.2 ms) next to the same for a key
 * without rules (`API_KEY`), which costs nothing but the call.
 *
 * Run: `npx -y deno@2.9.6 bench --allow-read --allow-write --allow-env bench/key_limits_bench.ts`.
 */
import { ClientKeyAuth } from "../lib/admin/client_key_auth.ts";
import { KeyLimits } from "../lib/keys/key_limits.ts";
import { openSqliteStore } from "../lib/store/sqlite_store.ts";
import { PriceTable } from "../lib/usage/price_table.ts";

const KEYS = 1000;
const ROUNDS = 4000;

const dir = await Deno.makeTempDir({ prefix: "key_limits_bench" });
const store = openSqliteStore(Deno.env.get("BENCH_MEMORY") ? ":memory:" : `${dir}/bench.db`);
const keys = new ClientKeyAuth(["sk-configured-key-0001"], store, { stalenessMs: 1000 });
const prices = new PriceTable();
const limits = new KeyLimits({
  store,
  keys,
  now: Date.now,
  queueTimeoutMs: 30_000,
  price: (usage, model) => {
    const cost = prices.cost(usage, model);
    return cost.priced ? cost.usd : null;
  },
});
const ids: string[] = [];
for (let i = 0; i < KEYS; i++) {
  const { record } = await keys.create(`key ${i}`, {
    requests_per_minute: 1_000_000,
    tokens_per_day: 1e12,
    tokens_per_month: 1e13,
    cost_per_day_micros: 1e12,
    cost_per_month_micros: 1e13,
    max_concurrency: 8,
    allowed_models: ["claude-sonnet-*", "claude-haiku-*", "gpt-x"],
  });
  ids.push(record.id);
}
const signal = new AbortController().signal;
const usage = { input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 20_000 };

async function oneRequest(principalId: string): Promise<void> {
  const admission = await limits.admit(
    { kind: "client", id: principalId },
    { model: "claude-sonnet-4-6", signal },
    1200,
  );
  admission.settleUsage(usage, "claude-sonnet-4-6");
  await admission.settled;
}

async function median(label: string, pick: (i: number) => string): Promise<number> {
  for (let i = 0; i < 200; i++) await oneRequest(pick(i));
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await oneRequest(pick(i));
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mid = times[ROUNDS >> 1]!;
  // deno-lint-ignore no-console
  console.log(
    `${label}: median ${mid.toFixed(3)} ms, p95 ${
      times[Math.floor(ROUNDS * 0.95)]!.toFixed(3)
    } ms per request ` +
      `(admit + settle, ${KEYS} keys, SQLite file store)`,
  );
  return mid;
}

let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
await median("key with every limit", () => ids[Math.floor(random() * KEYS)]!);
await median("API_KEY key (no rules)", () => "env:0");

Deno.bench("key limits: admit + settle on a key with every limit", async (b) => {
  const id = ids[0]!;
  b.start();
  await oneRequest(id);
  b.end();
});

globalThis.addEventListener("unload", () => {
  store.close().catch(() => {});
  Deno.removeSync(dir, { recursive: true });
});
