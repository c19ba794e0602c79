/**
 * The usage APIs at the route level: each client key's prompt cache and usage are its own (a key never
 * reads another's cache entries, records or series, and never sees account ids), the admin sees everything,
 * and the admin-only routes refuse client keys.
 */
import assert from "node:assert/strict";
import { helloUpstream } from "../_helpers/hello_upstream.ts";
import { adminSession, Clock, json, makeTestApp } from "../_helpers/test_app.ts";
import { runUsageMaintenance } from "../../lib/usage/usage_maintenance_job.ts";

const KEY_A = "sk-usage-key-a-0123456789";
const KEY_B = "sk-usage-key-b-0123456789";
const SYSTEM = "You are a careful assistant who reviews code changes line by line. ".repeat(120);

function conversation() {
  return {
    model: "gpt-x",
    max_tokens: 50,
    system: [{ type: "text", text: SYSTEM, cache_control: { type: "ephemeral" } }],
    messages: [{ role: "user", content: "hi" }],
  };
}

async function withApp(fn: (t: ReturnType<typeof makeTestApp>) => Promise<void>): Promise<void> {
  const upstream = helloUpstream();
  const t = makeTestApp({ realClock: true, env: { API_KEY: `${KEY_A},${KEY_B}` } });
  try {
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "sk-test",
      other: { api_base: upstream.url, format: "openai", model: "gpt-x" },
    });
    await fn(t);
  } finally {
    await t.close();
    await upstream.stop();
  }
}

/** The `message_start` usage (the upstream's own count then rescales the split in `message_delta`). */
async function ask(t: ReturnType<typeof makeTestApp>, key: string) {
  const response = await t.request(
    "/v1/messages",
    json({ ...conversation(), stream: true }, { "x-api-key": key }),
  );
  assert.equal(response.status, 200);
  const text = await response.text();
  const start = text.split("\n").find((line) =>
    line.startsWith("data:") && line.includes('"message_start"')
  )!;
  return JSON.parse(start.slice(5)).message.usage;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 30));
}

Deno.test("usage routes: one key's prompt cache is never another's", async () => {
  await withApp(async (t) => {
    const a1 = await ask(t, KEY_A);
    assert.equal(a1.cache_read_input_tokens, 0);
    assert.ok(a1.cache_creation_input_tokens > 1000);
    await settle();
    // The same prompt from another key: written again, not read.
    const b1 = await ask(t, KEY_B);
    assert.equal(b1.cache_read_input_tokens, 0);
    assert.equal(b1.cache_creation_input_tokens, a1.cache_creation_input_tokens);
    await settle();
    const a2 = await ask(t, KEY_A);
    assert.equal(a2.cache_read_input_tokens, a1.cache_creation_input_tokens);
  });
});

Deno.test("usage routes: a client key reads only its own usage, without account ids; the admin reads all", async () => {
  await withApp(async (t) => {
    await ask(t, KEY_A);
    await ask(t, KEY_A);
    await ask(t, KEY_B);
    await settle();
    const get = (path: string, headers: Record<string, string>) => t.request(path, { headers });
    const a = await (await get("/v1/usage?period=all", { "x-api-key": KEY_A })).json();
    const b = await (await get("/v1/usage?period=all", { "x-api-key": KEY_B })).json();
    assert.equal(a.request_count, 2);
    assert.equal(b.request_count, 1);
    assert.equal(a.cache.hits, 1);
    assert.equal(a.cache.misses, 1);
    assert.equal(a.cache.hit_rate, 0.5);
    assert.equal(a.cache.entries, undefined, "store-wide numbers are the admin's");
    const recent = await (await get("/v1/usage/recent", { "x-api-key": KEY_B })).json();
    assert.equal(recent.length, 1);
    assert.equal(recent[0].key_id, "env:1");
    assert.equal("account_id" in recent[0], false);
    const filtered = await get("/v1/usage?account_id=x", { "x-api-key": KEY_B });
    assert.equal(filtered.status, 403);
    await filtered.body?.cancel();
    const series = await (await get("/v1/usage/series?group_by=key", { "x-api-key": KEY_B })).json();
    assert.deepEqual(series.data.map((r: { group: string; requests: number }) => [r.group, r.requests]), [
      ["env:1", 1],
    ]);
    const byAccount = await get("/v1/usage/series?group_by=account", { "x-api-key": KEY_B });
    assert.equal(byAccount.status, 403);
    await byAccount.body?.cancel();
    for (const path of ["/v2/usage/series", "/admin/cache/stats", "/v2/pricing"]) {
      const refused = await get(path, { "x-api-key": KEY_A });
      assert.ok(refused.status === 401 || refused.status === 403, `${path}: ${refused.status}`);
      await refused.body?.cancel();
    }

    const token = await adminSession(t);
    const all = await (await get("/v1/usage?period=all", { "x-session-token": token })).json();
    assert.equal(all.request_count, 3);
    assert.equal(all.cache.simulation_enabled, true);
    assert.ok(all.cache.entries >= 2);
    const adminSeries =
      await (await get("/v2/usage/series?bucket=day&group_by=key", { "x-session-token": token }))
        .json();
    assert.deepEqual(
      adminSeries.data.map((r: { group: string; requests: number }) => [r.group, r.requests]),
      [
        ["env:0", 2],
        ["env:1", 1],
      ],
    );
    const stats = await (await get("/admin/cache/stats", { "x-session-token": token })).json();
    assert.deepEqual(Object.keys(stats).sort(), [
      "enabled",
      "entries",
      "evictions",
      "hit_rate",
      "hits",
      "misses",
    ]);
    assert.equal(stats.hits, 1);
    assert.equal(stats.misses, 2);
    const bad = await get("/v2/usage/series?bucket=week", { "x-session-token": token });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.type, "invalid_request_error");
  });
});

Deno.test("usage routes: ENABLE_CACHE_SIMULATION=false reports every input token as plain input", async () => {
  const upstream = helloUpstream();
  const t = makeTestApp({ realClock: true, env: { API_KEY: KEY_A, ENABLE_CACHE_SIMULATION: "false" } });
  try {
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "sk-test",
      other: { api_base: upstream.url, format: "openai", model: "gpt-x" },
    });
    for (let i = 0; i < 2; i++) {
      const usage = await ask(t, KEY_A);
      assert.equal(usage.cache_read_input_tokens, 0);
      assert.equal(usage.cache_creation_input_tokens, 0);
    }
  } finally {
    await t.close();
    await upstream.stop();
  }
});

/** An OpenAI-format upstream that reports no usage, so no calibration moves the counts between turns. */
function quietUpstream(): { url: string; stop: () => Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.json();
    const chunks = [
      { choices: [{ index: 0, delta: { role: "assistant", content: "ok" }, finish_reason: "stop" }] },
    ];
    const body = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/v1`, stop: () => server.shutdown() };
}

Deno.test("usage routes: shared cache entries expire 5 minutes after their last use, each hit refreshes them", async () => {
  const upstream = quietUpstream();
  const clock = new Clock();
  const t = makeTestApp({ clock, env: { API_KEY: KEY_A } });
  try {
    await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "sk-test",
      other: { api_base: upstream.url, format: "openai", model: "gpt-x" },
    });
    const first = await ask(t, KEY_A);
    await settle();
    clock.advance(4 * 60_000);
    assert.equal((await ask(t, KEY_A)).cache_read_input_tokens, first.cache_creation_input_tokens);
    await settle();
    clock.advance(4 * 60_000); // 8 minutes after the write, 4 after the refreshing hit
    assert.equal((await ask(t, KEY_A)).cache_read_input_tokens, first.cache_creation_input_tokens);
    await settle();
    clock.advance(5 * 60_000 + 1);
    const expired = await ask(t, KEY_A);
    assert.equal(expired.cache_read_input_tokens, 0);
    assert.equal(expired.cache_creation_input_tokens, first.cache_creation_input_tokens);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("usage maintenance: one instance at a time by lease; rollup, retention and the cache cap", async () => {
  const clock = new Clock();
  const t = makeTestApp({ clock });
  try {
    const H = 3_600_000;
    const base = {
      account_id: "a",
      model: "m",
      channel: "amazonq",
      input_tokens: 1,
      output_tokens: 1,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    await t.store.usage.record({ ...base, created_at: clock.t - 40 * 24 * H });
    await t.store.usage.record({ ...base, created_at: clock.t - 2 * H });
    await t.store.cacheEntries.upsert(
      ["1", "2", "3"].map((k, i) => ({
        key: k.repeat(32),
        tokens: 2000,
        ttlMs: 300_000,
        expiresAt: clock.t + 60_000 * (i + 1),
      })),
      clock.t,
    );
    const deps = { store: t.store, now: clock.now, retentionDays: 30, cacheMaxEntries: 2 };
    // Another instance holds the lease: this one skips.
    assert.ok(await t.store.leases.acquire("usage-maintenance", "other", clock.t, 60_000));
    assert.equal((await runUsageMaintenance({ ...deps, holder: "me" })).ran, false);
    await t.store.leases.release("usage-maintenance", "other");
    const result = await runUsageMaintenance({ ...deps, holder: "me" });
    assert.equal(result.ran, true);
    assert.ok(result.hoursRolledUp > 0);
    assert.equal(result.rawDeleted, 1, "the record older than 30 days");
    assert.equal(result.cacheEvicted, 1);
    // Rerunning changes nothing; the old record's hour is still in the aggregates.
    const again = await runUsageMaintenance({ ...deps, holder: "me" });
    assert.deepEqual([again.rawDeleted, again.cacheEvicted], [0, 0]);
    const all = await t.store.usage.summary(0);
    assert.equal(all[0]!.request_count, 2);
  } finally {
    await t.close();
  }
});
