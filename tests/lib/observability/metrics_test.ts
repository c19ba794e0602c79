/**
 * `/metrics` after a scripted sequence of requests: counts of requests, upstream calls, failover hops,
 * client-key refusals by reason, prompt-cache hits and misses, tokens (unknown models folded into `other`),
 * latency histograms and account states are exactly what happened, read back with a real Prometheus text
 * parser. And who may read it.
 */
import assert from "node:assert/strict";
import { json, makeTestApp } from "../../_helpers/test_app.ts";
import {
  addAmazonQ,
  addCustom,
  amazonQEnv,
  answerText,
  ask,
  fakeAmazonQ,
  fakeOpenAI,
  openAIFailure,
  openAIOk,
  settle,
} from "../../_helpers/pool_helpers.ts";
import { Scrape } from "./_prometheus.ts";

const KEY = "client-key-0123456789";
const HEAVY_FIRST = () => 0.5;
const EPHEMERAL = { type: "ephemeral" };

Deno.test("/metrics counts a scripted sequence: successes, a throttled account, a failover, key refusals, cache lookups", async () => {
  const fake = fakeOpenAI((seen) =>
    seen.key === "bad" ? openAIFailure(429, "Rate limit reached", { "retry-after": "45" }) : undefined
  );
  const t = makeTestApp({ random: HEAVY_FIRST, env: { API_KEY: KEY } });
  try {
    const bad = await addCustom(t, fake, "bad", { weight: 100 });
    const good = await addCustom(t, fake, "good", { weight: 1 });
    const headers = { "x-api-key": KEY };
    // 1: bad answers 429, the request fails over to good. 2: bad cools down, good serves.
    assert.equal(await answerText(await ask(t, "one", { headers })), "ok:good");
    assert.equal(await answerText(await ask(t, "two", { headers, stream: false })), "ok:good");
    // 3: a model name nobody configured is served (custom accounts take any) but labelled `other`.
    assert.equal(await answerText(await ask(t, "three", { headers, model: "mystery-model-7" })), "ok:good");
    // 4 and 5: a long system prompt marked for caching: the first lookup misses, the second reads it.
    for (const turn of ["four", "five"]) {
      const cached = await t.request(
        "/v1/messages",
        json({
          model: "gpt-x",
          max_tokens: 64,
          system: [{ type: "text", text: "Follow the house rules. ".repeat(400), cache_control: EPHEMERAL }],
          messages: [{ role: "user", content: turn }],
        }, headers),
      );
      assert.equal(await answerText(cached), "ok:good");
      await settle(); // the cache entry is written once the answer has started
    }
    // 6: a stored key allowed one request a minute: the first is served, the second (7) refused.
    const limited = await t.deps.clientKeys.create("limited", { requests_per_minute: 1 });
    assert.equal(await answerText(await ask(t, "six", { headers: { "x-api-key": limited.key } })), "ok:good");
    await refusal(await ask(t, "seven", { headers: { "x-api-key": limited.key } }), 429);
    // 8: a stored key that may only use Claude models. 9: no client key. 10: a key nobody issued.
    const claudeOnly = await t.deps.clientKeys.create("claude-only", { allowed_models: ["claude-*"] });
    await refusal(await ask(t, "eight", { headers: { "x-api-key": claudeOnly.key } }), 403);
    await refusal(await ask(t, "nine"), 401);
    await refusal(await ask(t, "ten", { headers: { "x-api-key": "sk-amq-nobody-issued-this" } }), 401);
    await settle();

    const response = await t.request("/metrics");
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const m = new Scrape(await response.text());

    assert.deepEqual(
      m.series("amq2api_http_requests_total").filter((l) => l.route === "/v1/messages"),
      [
        { route: "/v1/messages", method: "POST", status: "200", channel: "custom_api" },
        { route: "/v1/messages", method: "POST", status: "429", channel: "none" },
        { route: "/v1/messages", method: "POST", status: "403", channel: "none" },
        { route: "/v1/messages", method: "POST", status: "401", channel: "none" },
      ],
    );
    assert.equal(m.value("amq2api_http_requests_total", { route: "/v1/messages", status: "200" }), 6);
    assert.equal(m.value("amq2api_http_requests_total", { route: "/v1/messages", status: "401" }), 2);
    assert.equal(m.value("amq2api_http_requests_total", { route: "/v1/messages", status: "403" }), 1);
    assert.equal(m.value("amq2api_http_requests_total", { route: "/v1/messages", status: "429" }), 1);

    assert.deepEqual(m.series("amq2api_client_key_rejections_total"), [
      { reason: "requests_per_minute" },
      { reason: "model_not_allowed" },
      { reason: "missing" },
      { reason: "invalid" },
    ]);
    for (const reason of ["requests_per_minute", "model_not_allowed", "missing", "invalid"]) {
      assert.equal(m.value("amq2api_client_key_rejections_total", { reason }), 1, reason);
    }

    // Only the two requests with a cacheable breakpoint decide a lookup.
    assert.equal(m.value("amq2api_cache_lookups_total", { result: "miss" }), 1);
    assert.equal(m.value("amq2api_cache_lookups_total", { result: "hit" }), 1);
    // The split follows the upstream's own input count, so only its presence is certain here.
    assert.ok(m.value("amq2api_tokens_total", { model: "gpt-x", kind: "cache_read" }) > 0);
    assert.ok(m.value("amq2api_tokens_total", { model: "gpt-x", kind: "cache_creation" }) > 0);

    assert.deepEqual(m.series("amq2api_upstream_calls_total"), [
      { channel: "custom_api", account: bad.id, outcome: "throttled" },
      { channel: "custom_api", account: good.id, outcome: "success" },
    ]);
    assert.equal(m.value("amq2api_upstream_calls_total", { account: bad.id }), 1);
    assert.equal(m.value("amq2api_upstream_calls_total", { account: good.id, outcome: "success" }), 6);
    assert.equal(m.value("amq2api_failover_hops_total", { channel: "custom_api", reason: "throttled" }), 1);

    assert.equal(m.value("amq2api_upstream_first_byte_seconds_count", { channel: "custom_api" }), 6);
    assert.equal(m.value("amq2api_upstream_duration_seconds_count", { channel: "custom_api" }), 6);
    assert.equal(m.value("amq2api_streams_in_flight"), 0);

    // Each answer carried 2 output tokens: five under the configured model, one under `other`.
    assert.equal(m.value("amq2api_tokens_total", { model: "gpt-x", kind: "output" }), 10);
    assert.equal(m.value("amq2api_tokens_total", { model: "other", kind: "output" }), 2);
    assert.equal(m.value("amq2api_tokens_total", { model: "mystery-model-7" }), 0);
    assert.ok(m.value("amq2api_tokens_total", { model: "gpt-x", kind: "input" }) > 0);

    assert.equal(m.value("amq2api_accounts", { channel: "custom_api", state: "cooling_down" }), 1);
    assert.equal(m.value("amq2api_accounts", { channel: "custom_api", state: "usable" }), 1);
    assert.equal(m.value("amq2api_accounts", { channel: "custom_api", state: "parked" }), 0);
    assert.equal(m.value("amq2api_accounts", { channel: "custom_api", state: "disabled" }), 0);

    // Process basics are there.
    assert.ok(m.value("process_cpu_seconds_total") > 0);
    assert.ok(m.value("process_start_time_seconds") > 0);
    for (
      const name of ["process_resident_memory_bytes", "process_open_fds", "nodejs_eventloop_lag_seconds"]
    ) {
      assert.ok(m.family(name), name);
    }
  } finally {
    await t.close();
    await fake.close();
  }
});

/** Asserts a refusal's status and its Claude error shape. */
async function refusal(response: Response, status: number): Promise<void> {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.type, "error");
}

Deno.test("every client-key refusal is counted once under its reason", async () => {
  let open = () => {};
  const gate = new Promise<void>((resolve) => open = resolve);
  // The first request of the one-at-a-time key is held upstream until the others are refused.
  const fake = fakeOpenAI((seen) =>
    (seen.body.messages as Array<{ content: string }>)[0]?.content === "held"
      ? gate.then(() => openAIOk(seen.key))
      : undefined
  );
  const t = makeTestApp({ env: { API_KEY: KEY, KEY_QUEUE_TIMEOUT_SECONDS: "0" } });
  try {
    await addCustom(t, fake, "good");
    const keys = t.deps.clientKeys;
    const key = async (settings: Parameters<typeof keys.create>[1]) =>
      (await keys.create(null, settings)).key;
    const ask1 = (k: string, prompt = "hi") => ask(t, prompt, { headers: { "x-api-key": k } });
    await refusal(await ask1(await key({ enabled: false })), 401);
    await refusal(await ask1(await key({ expires_at: t.clock.now() - 1 })), 401);
    await refusal(await ask1(await key({ tokens_per_day: 1 })), 429);
    await refusal(await ask1(await key({ allowed_channels: ["amazonq"] })), 403);
    await refusal(
      await t.request("/v1/messages", json({ model: "gpt-x", max_tokens: 8, messages: [] }), "203.0.113.9"),
      401,
    );
    const single = await key({ max_concurrency: 1 });
    const held = ask1(single, "held");
    // Bounded wait until the held request holds the key's one slot (it reached the upstream).
    for (let i = 0; i < 200 && fake.count("good") === 0; i++) await settle(10);
    assert.equal(fake.count("good"), 1);
    await refusal(await ask1(single), 429);
    open();
    assert.equal(await answerText(await held), "ok:good");
    await settle();

    const m = new Scrape(await t.deps.metrics.exposition());
    assert.deepEqual(
      Object.fromEntries(
        m.series("amq2api_client_key_rejections_total").map((l) => [
          l.reason,
          m.value("amq2api_client_key_rejections_total", { reason: l.reason! }),
        ]),
      ),
      {
        disabled: 1,
        expired: 1,
        tokens_per_day: 1,
        channel_not_allowed: 1,
        missing: 1,
        max_concurrency: 1,
      },
    );
  } finally {
    open();
    await t.close();
    await fake.close();
  }
});

Deno.test("metric methods for the accounting seams: tokens, cost, cache lookups, key rejections", async () => {
  const t = makeTestApp();
  try {
    const metrics = t.deps.metrics;
    metrics.tokens("claude-sonnet-4", "amazonq", "cache_read", 100);
    metrics.tokens("made-up", "amazonq", "input", 7);
    metrics.cost("claude-sonnet-4", "amazonq", 0.25);
    metrics.cost("made-up", "amazonq", 0.5);
    metrics.cacheLookup(true);
    metrics.cacheLookup(false);
    metrics.cacheLookup(false);
    metrics.keyRejected("rpm");
    const m = new Scrape(await metrics.exposition());
    assert.equal(m.value("amq2api_tokens_total", { model: "claude-sonnet-4", kind: "cache_read" }), 100);
    assert.equal(m.value("amq2api_tokens_total", { model: "other", kind: "input" }), 7);
    assert.equal(m.value("amq2api_cost_usd_total", { model: "claude-sonnet-4" }), 0.25);
    assert.equal(m.value("amq2api_cost_usd_total", { model: "other" }), 0.5);
    assert.equal(m.value("amq2api_cache_lookups_total", { result: "hit" }), 1);
    assert.equal(m.value("amq2api_cache_lookups_total", { result: "miss" }), 2);
    assert.equal(m.value("amq2api_client_key_rejections_total", { reason: "rpm" }), 1);
  } finally {
    await t.close();
  }
});

Deno.test("/metrics access: loopback only without METRICS_TOKEN", async () => {
  const t = makeTestApp();
  try {
    assert.equal((await t.request("/metrics")).status, 200);
    const remote = await t.request("/metrics", {}, "203.0.113.9");
    assert.equal(remote.status, 403);
    assert.equal((await remote.json()).type, "error");
    // A local reverse proxy speaking for someone else does not count as local.
    const proxied = await t.request("/metrics", { headers: { "x-forwarded-for": "203.0.113.9" } });
    assert.equal(proxied.status, 403);
    await proxied.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("/metrics access: METRICS_TOKEN as a bearer, from anywhere", async () => {
  const token = "metrics-token-0123456789";
  const t = makeTestApp({ env: { METRICS_TOKEN: token } });
  try {
    const none = await t.request("/metrics");
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const wrong = await t.request("/metrics", { headers: { authorization: "Bearer nope" } }, "203.0.113.9");
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const right = await t.request(
      "/metrics",
      { headers: { authorization: `Bearer ${token}` } },
      "203.0.113.9",
    );
    assert.equal(right.status, 200);
    assert.match(await right.text(), /amq2api_streams_in_flight/);
  } finally {
    await t.close();
  }
});

Deno.test("token refreshes are counted by channel and outcome", async () => {
  const fake = fakeAmazonQ({
    refresh: (body) =>
      body.refreshToken === "rt-dead"
        ? Response.json({ error: "invalid_grant" }, { status: 400 })
        : body.refreshToken === "rt-flaky"
        ? new Response("upstream down", { status: 500 })
        : Response.json({ accessToken: `fresh-${body.refreshToken}`, expiresIn: 3600 }),
  });
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    const ok = await addAmazonQ(t, "ok");
    const dead = await addAmazonQ(t, "dead");
    const flaky = await addAmazonQ(t, "flaky");
    await t.deps.tokens.refresh(ok.id, "at-ok");
    await assert.rejects(t.deps.tokens.refresh(dead.id, "at-dead"));
    await assert.rejects(t.deps.tokens.refresh(flaky.id, "at-flaky"));
    await assert.rejects(t.deps.tokens.refresh(flaky.id, "at-flaky"));
    const m = new Scrape(await t.deps.metrics.exposition());
    assert.equal(m.value("amq2api_token_refreshes_total", { channel: "amazonq", outcome: "success" }), 1);
    assert.equal(
      m.value("amq2api_token_refreshes_total", { channel: "amazonq", outcome: "invalid_grant" }),
      1,
    );
    assert.equal(m.value("amq2api_token_refreshes_total", { channel: "amazonq", outcome: "failed" }), 2);
    assert.equal(m.value("amq2api_accounts", { channel: "amazonq", state: "disabled" }), 1);
    assert.equal(m.value("amq2api_accounts", { channel: "amazonq", state: "usable" }), 2);
  } finally {
    await t.close();
    await fake.close();
  }
});
