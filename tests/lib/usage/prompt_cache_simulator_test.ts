import assert from "node:assert/strict";
import { estimator } from "../../_helpers/test_app.ts";
import { normalizeClaudeRequest } from "../../../lib/claude/normalize_request.ts";
import type { ClaudeRequest, RawCountTokensRequest } from "../../../lib/claude/request_schema.ts";
import { ApiError } from "../../../lib/errors.ts";
import { BlockHasher } from "../../../lib/usage/block_hasher.ts";
import { cacheablePrefix, PrefixContext } from "../../../lib/usage/cacheable_prefix.ts";
import { MemoryCacheEntryStore } from "../../../lib/usage/memory_cache_entry_store.ts";
import { minimumCacheableTokens } from "../../../lib/usage/minimum_cacheable_tokens.ts";
import { PromptCacheSimulator, type SimulationInput } from "../../../lib/usage/prompt_cache_simulator.ts";

const MINUTE = 60_000;
const EPHEMERAL = { type: "ephemeral" } as const;
const ONE_HOUR = { type: "ephemeral", ttl: "1h" } as const;

/** About `tokens` tokens of varied prose (distinct per seed). */
function prose(tokens: number, seed = 1): string {
  const words = [
    "cache",
    "prefix",
    "tenant",
    "stream",
    "account",
    "model",
    "budget",
    "token",
    "proxy",
    "event",
  ];
  const out: string[] = [];
  let a = seed;
  for (let i = 0; i < tokens; i++) {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    out.push(words[a % words.length]!);
  }
  return out.join(" ");
}

function req(body: Partial<RawCountTokensRequest> & { [k: string]: unknown }): ClaudeRequest {
  return normalizeClaudeRequest(
    { model: "claude-sonnet-4-5", messages: [], ...body } as RawCountTokensRequest,
  );
}

function setup(options: { maxEntries?: number } = {}) {
  let clock = Date.UTC(2026, 11, 3, 12, 0, 0);
  const store = new MemoryCacheEntryStore(options);
  const sim = new PromptCacheSimulator({ counter: estimator(), store, now: () => clock });
  return {
    sim,
    store,
    advance: (ms: number) => (clock += ms),
    /** Simulates and commits, as the gateway will once the upstream answered. */
    run: async (input: SimulationInput) => {
      const result = await sim.simulate(input);
      await result.commit();
      return result;
    },
  };
}

const SYSTEM = prose(1500, 7);

function turn1(): ClaudeRequest {
  return req({
    system: [{ type: "text", text: SYSTEM, cache_control: EPHEMERAL }],
    messages: [{
      role: "user",
      content: [{ type: "text", text: "Read the repo.", cache_control: EPHEMERAL }],
    }],
  });
}

function turn2(): ClaudeRequest {
  return req({
    system: [{ type: "text", text: SYSTEM, cache_control: EPHEMERAL }],
    messages: [
      { role: "user", content: [{ type: "text", text: "Read the repo." }] },
      { role: "assistant", content: [{ type: "text", text: prose(300, 3) }] },
      { role: "user", content: [{ type: "text", text: "Now fix the bug.", cache_control: EPHEMERAL }] },
    ],
  });
}

Deno.test("two turns with breakpoints on the system prompt and the last message: creation, then read", async () => {
  const { run, advance } = setup();
  const e = estimator();
  const t1 = turn1();
  const total1 = e.countRequest(t1);
  const first = await run({ request: t1, keyId: "k1" });
  assert.deepEqual(first.usage, {
    input_tokens: 0,
    cache_creation_input_tokens: total1,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: total1, ephemeral_1h_input_tokens: 0 },
  });
  assert.equal(first.hit, false);

  advance(MINUTE);
  const t2 = turn2();
  const total2 = e.countRequest(t2);
  const second = await run({ request: t2, keyId: "k1" });
  assert.deepEqual(second.usage, {
    input_tokens: 0,
    cache_creation_input_tokens: total2 - total1,
    cache_read_input_tokens: total1,
    cache_creation: { ephemeral_5m_input_tokens: total2 - total1, ephemeral_1h_input_tokens: 0 },
  });
  assert.equal(second.total, total2);
  assert.equal(second.hit, true);
});

Deno.test("input_tokens is what follows the last breakpoint, and the three parts add up to the estimate", async () => {
  const { run } = setup();
  const e = estimator();
  const request = req({
    system: [{ type: "text", text: SYSTEM, cache_control: EPHEMERAL }],
    messages: [{ role: "user", content: [{ type: "text", text: "A question that is not cached at all." }] }],
  });
  const total = e.countRequest(request);
  const systemOnly = e.countRequest({ system: request.system, messages: [] });
  const { usage } = await run({ request, keyId: "k" });
  assert.equal(usage.cache_creation_input_tokens, systemOnly);
  assert.equal(usage.input_tokens, total - systemOnly);
  assert.equal(usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens, total);
  const again = await run({ request, keyId: "k" });
  assert.equal(again.usage.cache_read_input_tokens, systemOnly);
  assert.equal(again.usage.cache_creation_input_tokens, 0);
  assert.equal(again.usage.input_tokens, total - systemOnly);
});

Deno.test("per-block counts add up to countRequest for every kind of block", () => {
  const e = estimator();
  const request = req({
    tools: [
      {
        name: "Read",
        description: "Reads a file",
        input_schema: { type: "object" },
        cache_control: EPHEMERAL,
      },
      { name: "web_search", type: "web_search_20250305" },
    ],
    system: [{ type: "text", text: "Be brief." }, { type: "text", text: SYSTEM }],
    messages: [
      { role: "user", content: "plain string content" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm, let me look", signature: "sig" },
          { type: "tool_use", id: "t1", name: "Read", input: { path: "/a", lines: [1, 2] } },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "t1",
            content: [
              { type: "text", text: "file text", cache_control: EPHEMERAL },
              {
                type: "image",
                source: { type: "base64", media_type: "image/png", data: "A".repeat(40_000) },
              },
              { type: "search_result", content: "x" },
            ],
          },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "B".repeat(8_000) } },
          { type: "document", source: { type: "text", data: "doc" }, cache_control: EPHEMERAL },
        ],
      },
      { role: "assistant", content: [] },
    ],
  });
  const context = new PrefixContext(e, new BlockHasher());
  const prefix = cacheablePrefix(request, "scope", context);
  // Twice: the second walk answers from the piece memo and must agree with a walk without memo.
  const again = cacheablePrefix(request, "scope", context);
  const unmemoized = cacheablePrefix(
    request,
    "scope",
    new PrefixContext(e, new BlockHasher(), { memoChars: 0 }),
  );
  const keys = (p: typeof prefix) => p.tokens.map((_, i) => p.chain.key(i));
  assert.deepEqual(keys(unmemoized), keys(prefix));
  assert.equal(new Set(keys(prefix)).size, prefix.tokens.length);
  assert.deepEqual(again.tokens, prefix.tokens);
  assert.deepEqual(keys(again), keys(prefix));
  assert.equal(prefix.total, e.countRequest(request));
  assert.equal(prefix.prefixTokens.at(-1), prefix.total);
  assert.deepEqual(prefix.breakpoints.map((b) => b.path), [
    "tools.0",
    "messages.2.content.0.content.0",
    "messages.2.content.2",
  ]);
});

Deno.test("entries expire 5 minutes after their last use, and every hit refreshes them", async () => {
  const { run, advance } = setup();
  const request = turn1();
  await run({ request, keyId: "k" });
  advance(4 * MINUTE);
  assert.equal((await run({ request, keyId: "k" })).hit, true); // refreshed: now lives until +9 min
  advance(4 * MINUTE);
  assert.equal((await run({ request, keyId: "k" })).hit, true); // would have expired at +5 min without refresh
  advance(5 * MINUTE + 1);
  const expired = await run({ request, keyId: "k" });
  assert.equal(expired.hit, false);
  assert.equal(expired.usage.cache_creation_input_tokens, expired.total);
});

Deno.test("1 h entries live an hour after their last use and are reported as 1 h creation", async () => {
  const { run, advance } = setup();
  const e = estimator();
  const request = req({
    system: [{ type: "text", text: SYSTEM, cache_control: ONE_HOUR }],
    messages: [{ role: "user", content: [{ type: "text", text: prose(200, 9), cache_control: EPHEMERAL }] }],
  });
  const systemOnly = e.countRequest({ system: request.system, messages: [] });
  const total = e.countRequest(request);
  const first = await run({ request, keyId: "k" });
  assert.deepEqual(first.usage.cache_creation, {
    ephemeral_1h_input_tokens: systemOnly,
    ephemeral_5m_input_tokens: total - systemOnly,
  });
  advance(59 * MINUTE);
  const second = await run({ request, keyId: "k" }); // the 5 min entry is gone, the 1 h one is read
  assert.equal(second.usage.cache_read_input_tokens, systemOnly);
  assert.deepEqual(second.usage.cache_creation, {
    ephemeral_1h_input_tokens: 0,
    ephemeral_5m_input_tokens: total - systemOnly,
  });
  advance(59 * MINUTE); // 118 min after the write, 59 after the refreshing hit
  assert.equal((await run({ request, keyId: "k" })).usage.cache_read_input_tokens >= systemOnly, true);
  advance(60 * MINUTE + 1);
  assert.equal((await run({ request, keyId: "k" })).hit, false);
});

Deno.test("entries are scoped per client key and per model", async () => {
  const { run } = setup();
  const request = turn1();
  await run({ request, keyId: "tenant-a" });
  assert.equal((await run({ request, keyId: "tenant-b" })).hit, false);
  assert.equal((await run({ request, keyId: "tenant-a", model: "claude-sonnet-4-6" })).hit, false);
  assert.equal((await run({ request, keyId: "tenant-a" })).hit, true);
});

Deno.test("below the model's minimum cacheable length nothing is written or read", async () => {
  assert.equal(minimumCacheableTokens("claude-sonnet-4-5-20250929"), 1024);
  assert.equal(minimumCacheableTokens("claude-opus-4-5"), 4096);
  assert.equal(minimumCacheableTokens("claude-opus-4-20250514"), 1024);
  assert.equal(minimumCacheableTokens("claude-haiku-4-5-20251001"), 4096);
  assert.equal(minimumCacheableTokens("claude-3-5-haiku-20241022"), 2048);
  const { run } = setup();
  const e = estimator();
  const request = turn1(); // about 1,500 tokens
  const total = e.countRequest(request);
  assert.ok(total > 1024 && total < 2048, String(total));
  for (const model of ["claude-opus-4-5", "claude-3-5-haiku-20241022"]) {
    const r1 = await run({ request: { ...request, model }, keyId: "k" });
    const r2 = await run({ request: { ...request, model }, keyId: "k" });
    for (const r of [r1, r2]) {
      assert.deepEqual(r.usage, {
        input_tokens: total,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      });
    }
  }
  const sonnet = await run({ request, keyId: "k" });
  assert.equal(sonnet.usage.cache_creation_input_tokens, total);
});

Deno.test("a short first breakpoint is not cached on its own; its tokens go to the next one's lifetime", async () => {
  const { run } = setup();
  const e = estimator();
  const request = req({
    system: [{ type: "text", text: "Short rules.", cache_control: ONE_HOUR }],
    messages: [{ role: "user", content: [{ type: "text", text: SYSTEM, cache_control: EPHEMERAL }] }],
  });
  const { usage } = await run({ request, keyId: "k" });
  assert.deepEqual(usage.cache_creation, {
    ephemeral_1h_input_tokens: 0,
    ephemeral_5m_input_tokens: e.countRequest(request),
  });
});

Deno.test("5 breakpoints and a 1 h breakpoint after a 5 min one are rejected with Anthropic's errors", () => {
  const { sim } = setup();
  const five = req({
    system: [1, 2, 3].map((i) => ({ type: "text" as const, text: `part ${i}`, cache_control: EPHEMERAL })),
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "a", cache_control: EPHEMERAL },
        { type: "text", text: "b", cache_control: EPHEMERAL },
      ],
    }],
  });
  assert.throws(() => sim.prepare({ request: five, keyId: "k" }), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.deepEqual(error.toBody(), {
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "A maximum of 4 blocks with cache_control may be provided. Found 5.",
      },
    });
    return true;
  });

  const order = req({
    tools: [{ name: "Read", input_schema: { type: "object" }, cache_control: EPHEMERAL }],
    system: [{ type: "text", text: "rules" }],
    messages: [{
      role: "user",
      content: [{ type: "text", text: "hi" }, { type: "text", text: "x", cache_control: ONE_HOUR }],
    }],
  });
  assert.throws(() => sim.prepare({ request: order, keyId: "k" }), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.type, "invalid_request_error");
    assert.equal(
      error.message,
      "messages.0.content.1.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' " +
        "cache_control block. Note that blocks are processed in the following order: `tools`, `system`, `messages`.",
    );
    return true;
  });
  // 1 h before 5 min is fine, and four breakpoints are allowed.
  const fine = req({
    tools: [{ name: "Read", input_schema: { type: "object" }, cache_control: ONE_HOUR }],
    system: [{ type: "text", text: "rules", cache_control: ONE_HOUR }],
    messages: [{
      role: "user",
      content: [{ type: "text", text: "a", cache_control: EPHEMERAL }, {
        type: "text",
        text: "b",
        cache_control: EPHEMERAL,
      }],
    }],
  });
  sim.prepare({ request: fine, keyId: "k" });
  const badTtl = req({
    system: [{ type: "text", text: "rules", cache_control: { type: "ephemeral", ttl: "2h" } }],
  });
  assert.throws(() => sim.prepare({ request: badTtl, keyId: "k" }), /system\.0\.cache_control\.ttl/);
});

/** A conversation whose last message is preceded by `extra` single-block turns after turn 1's breakpoint. */
function grown(extra: number): ClaudeRequest {
  const messages: RawCountTokensRequest["messages"] = [
    { role: "user", content: [{ type: "text", text: "Read the repo." }] },
  ];
  for (let i = 0; i < extra; i++) {
    messages.push({
      role: i % 2 === 0 ? "assistant" : "user",
      content: [{ type: "text", text: `step ${i}` }],
    });
  }
  const last = messages.at(-1)!.content as { type: "text"; text: string; cache_control?: unknown }[];
  last[0]!.cache_control = EPHEMERAL;
  return req({ system: [{ type: "text", text: SYSTEM, cache_control: EPHEMERAL }], messages });
}

Deno.test("the look-back finds the previous breakpoint within 20 blocks, and only the system prefix beyond", async () => {
  const e = estimator();
  const total1 = e.countRequest(turn1());
  const systemOnly = e.countRequest({ system: turn1().system, messages: [] });
  // Blocks: system (0), "Read the repo." (1), then the new turns. With 19 new blocks the last breakpoint is
  // block 20 and its window (20 blocks: 20..1) still reaches block 1; with 20 it does not.
  {
    const { run } = setup();
    await run({ request: turn1(), keyId: "k" });
    const within = await run({ request: grown(19), keyId: "k" });
    assert.equal(within.usage.cache_read_input_tokens, total1);
  }
  {
    const { run } = setup();
    await run({ request: turn1(), keyId: "k" });
    const beyond = await run({ request: grown(20), keyId: "k" });
    assert.equal(beyond.usage.cache_read_input_tokens, systemOnly);
    assert.equal(beyond.usage.cache_creation_input_tokens, beyond.total - systemOnly);
  }
});

Deno.test("a change before the breakpoint misses, and moving a breakpoint does not change the prefix", async () => {
  const { run } = setup();
  await run({ request: turn1(), keyId: "k" });
  const edited = turn1();
  edited.system = [{ type: "text", text: SYSTEM + " (edited)", cache_control: EPHEMERAL }];
  assert.equal((await run({ request: edited, keyId: "k" })).hit, false);
  // The same blocks with the marker only on the last one still read turn 1's entry at that block.
  const moved = turn1();
  moved.system = [{ type: "text", text: SYSTEM }];
  assert.equal(
    (await run({ request: moved, keyId: "k" })).usage.cache_read_input_tokens,
    estimator().countRequest(moved),
  );
});

Deno.test("top-level cache_control caches up to the last block and counts as a breakpoint", async () => {
  const { run, sim } = setup();
  const request = req({
    system: SYSTEM,
    messages: [{ role: "user", content: "hi" }],
    cache_control: EPHEMERAL,
  });
  const total = estimator().countRequest(request);
  assert.equal((await run({ request, keyId: "k" })).usage.cache_creation_input_tokens, total);
  assert.equal((await run({ request, keyId: "k" })).usage.cache_read_input_tokens, total);
  const crowded = req({
    system: [1, 2, 3, 4].map((i) => ({ type: "text" as const, text: `p${i}`, cache_control: EPHEMERAL })),
    messages: [{ role: "user", content: "hi" }],
    cache_control: EPHEMERAL,
  });
  assert.throws(() => sim.prepare({ request: crowded, keyId: "k" }), /Found 5\./);
});

Deno.test("a calibrated total is split in proportion and still adds up exactly", async () => {
  const { run } = setup();
  const request = req({
    system: [{ type: "text", text: SYSTEM, cache_control: EPHEMERAL }],
    messages: [{ role: "user", content: prose(400, 5) }],
  });
  const raw = estimator().countRequest(request);
  const total = Math.round(raw * 1.18);
  const { usage } = await run({ request, keyId: "k", total });
  assert.equal(usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens, total);
  assert.ok(usage.input_tokens > 0 && usage.cache_creation_input_tokens > 0);
});

Deno.test("prepare's own walk is the count: estimate equals countRequest and calibrate maps it to the total", async () => {
  const { sim } = setup();
  const request = req({
    system: [{ type: "text", text: SYSTEM, cache_control: EPHEMERAL }],
    messages: [{ role: "user", content: prose(300, 9) }],
  });
  const raw = estimator().countRequest(request);
  const seen: number[] = [];
  const prepared = sim.prepare({
    request,
    keyId: "k",
    calibrate: (estimate) => {
      seen.push(estimate);
      return estimate * 2;
    },
  });
  assert.deepEqual(seen, [raw]);
  assert.equal(prepared.estimate, raw);
  assert.equal(prepared.total, raw * 2);
  const { usage } = await prepared.simulate();
  assert.equal(
    usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens,
    raw * 2,
  );
  // An explicit total wins over the calibration.
  assert.equal(sim.prepare({ request, keyId: "k", total: 7, calibrate: () => 9 }).total, 7);
});

Deno.test("nothing is written until commit, and commit writes once", async () => {
  const { sim } = setup();
  const request = turn1();
  const prepared = sim.prepare({ request, keyId: "k" });
  assert.equal(prepared.total, estimator().countRequest(request));
  assert.equal((await prepared.simulate()).hit, false);
  const first = await sim.simulate({ request, keyId: "k" });
  assert.equal((await sim.simulate({ request, keyId: "k" })).hit, false); // the upstream has not answered yet
  await first.commit();
  await first.commit();
  assert.equal((await sim.simulate({ request, keyId: "k" })).hit, true);
  const stats = await sim.stats();
  assert.deepEqual(stats, { hits: 1, misses: 3, hitRate: 1 / 4, entries: 2, evictions: 0 });
});

Deno.test("the memory store is bounded: least recently used entries are evicted and counted", async () => {
  const store = new MemoryCacheEntryStore({ maxEntries: 3 });
  const entry = (key: string) => ({ key, tokens: 2000, ttlMs: 5 * MINUTE, expiresAt: 10 * MINUTE });
  await store.upsert([entry("a"), entry("b"), entry("c")], 0);
  await store.lookup(["a"], 1); // a lookup alone does not refresh; the simulator's commit does
  await store.upsert([entry("a")], 1); // a is now the most recently used
  await store.upsert([entry("d"), entry("e")], 2);
  const live = await store.lookup(["a", "b", "c", "d", "e"], 3);
  assert.deepEqual([...live.keys()].sort(), ["a", "d", "e"]);
  assert.deepEqual(await store.stats(3), { entries: 3, evictions: 2 });
  // Expired entries are neither returned nor counted, and dropping them is not an eviction.
  assert.equal((await store.lookup(["a"], 10 * MINUTE)).size, 0);
  assert.deepEqual(await store.stats(10 * MINUTE), { entries: 0, evictions: 2 });

  // Through the simulator: many conversations in a small store never exceed the bound.
  const { run, store: small } = setup({ maxEntries: 5 });
  for (let i = 0; i < 6; i++) {
    await run({
      request: req({
        system: [{ type: "text", text: prose(1200, 100 + i), cache_control: EPHEMERAL }],
        messages: [{ role: "user", content: "q" }],
      }),
      keyId: "k",
    });
  }
  const stats = await small.stats(Date.UTC(2026, 11, 3, 12, 0, 0));
  assert.equal(stats.entries, 5);
  assert.equal(stats.evictions, 1);
});

Deno.test("the store holds digests and counts, never prompt text", async () => {
  const store = new MemoryCacheEntryStore();
  const upserted: unknown[] = [];
  const spy = {
    lookup: store.lookup.bind(store),
    upsert: (entries: readonly unknown[], now: number) => {
      upserted.push(...entries);
      return store.upsert(entries as never, now);
    },
    stats: store.stats.bind(store),
  };
  const sim = new PromptCacheSimulator({ counter: estimator(), store: spy, now: () => 0 });
  await (await sim.simulate({ request: turn1(), keyId: "k" })).commit();
  const json = JSON.stringify(upserted);
  assert.equal(upserted.length, 2);
  assert.ok(!json.includes("cache") && !json.includes("Read the repo"), json);
  for (const e of upserted as { key: string }[]) assert.match(e.key, /^[0-9a-f]{32}$/);
});
