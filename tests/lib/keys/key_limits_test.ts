// Client keys as tenants, through the real app and a fake upstream: each limit reached and reset with the
// injected clock, the rate-limit headers on every answer (success, refusal, stream, OpenAI route), expiry,
// disabling, model and channel rules, `API_KEY` keys unlimited and not editable, and `GET /v1/key`.
import assert from "node:assert/strict";
import { adminSession, json } from "../../_helpers/test_app.ts";
import { API_KEY, ask, fakeUpstream, keyApp, message, settled, storedKey } from "./_key_helpers.ts";

Deno.test("requests_per_minute: refused with 429, retry-after and headers once reached; free again next minute", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const { key } = await storedKey(t, { requests_per_minute: 2 });
    const first = await ask(t, key);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get("anthropic-ratelimit-requests-limit"), "2");
    assert.equal(first.headers.get("anthropic-ratelimit-requests-remaining"), "1");
    const reset = new Date(Math.floor(t.clock.t / 60_000) * 60_000 + 60_000).toISOString().replace(
      ".000Z",
      "Z",
    );
    assert.equal(first.headers.get("anthropic-ratelimit-requests-reset"), reset);
    // Streaming answers carry them too.
    const streamed = await ask(t, key, message("hi", "claude-sonnet-4-6", true));
    assert.equal(streamed.status, 200);
    assert.match(streamed.text, /event: message_stop/);
    assert.equal(streamed.headers.get("anthropic-ratelimit-requests-remaining"), "0");
    const refused = await ask(t, key);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.type, "rate_limit_error");
    assert.match(refused.body.error.message, /requests_per_minute/);
    const secondsLeft = Math.ceil((Math.floor(t.clock.t / 60_000) * 60_000 + 60_000 - t.clock.t) / 1000);
    assert.equal(refused.headers.get("retry-after"), String(secondsLeft));
    assert.equal(refused.headers.get("anthropic-ratelimit-requests-remaining"), "0");
    assert.equal(upstream.seen.length, 2, "a refused request never reaches the upstream");
    t.clock.advance(60_000);
    const again = await ask(t, key);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get("anthropic-ratelimit-requests-remaining"), "1");
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("tokens_per_day counts what requests used (input + output) and resets at the next UTC day", async () => {
  const upstream = fakeUpstream({ prompt: 1000, completion: 1500 });
  const t = await keyApp(upstream);
  try {
    const { key, id } = await storedKey(t, { tokens_per_day: 4000 });
    const first = await ask(t, key);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get("anthropic-ratelimit-tokens-limit"), "4000");
    await settled(t, id, (n) => n >= 2500);
    const second = await ask(t, key);
    assert.equal(second.status, 200, "2,500 used: a small request still fits");
    assert.equal(Number(second.headers.get("anthropic-ratelimit-tokens-remaining")) < 1500, true);
    await settled(t, id, (n) => n >= 5000);
    const refused = await ask(t, key);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.type, "rate_limit_error");
    assert.match(refused.body.error.message, /tokens_per_day/);
    assert.equal(refused.headers.get("anthropic-ratelimit-tokens-remaining"), "0");
    const nextDay = Date.UTC(2026, 10, 26);
    assert.equal(refused.headers.get("retry-after"), String(Math.ceil((nextDay - t.clock.t) / 1000)));
    t.clock.t = nextDay;
    const again = await ask(t, key);
    assert.equal(again.status, 200);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("tokens_per_month holds across days and resets on the first of the next month", async () => {
  const upstream = fakeUpstream({ prompt: 1000, completion: 1000 });
  const t = await keyApp(upstream);
  try {
    const { key, id } = await storedKey(t, { tokens_per_month: 2000 });
    assert.equal((await ask(t, key)).status, 200);
    await settled(t, id, (n) => n >= 2000);
    t.clock.advance(86_400_000);
    const refused = await ask(t, key);
    assert.equal(refused.status, 429);
    assert.match(refused.body.error.message, /tokens_per_month/);
    t.clock.t = Date.UTC(2026, 11, 1);
    assert.equal((await ask(t, key)).status, 200);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("cost_per_day_usd: the answer after the budget is spent says which budget and when it resets", async () => {
  // Sonnet at $3 / $15 per million: 1,000 in + 1,000 out = $0.018.
  const upstream = fakeUpstream({ prompt: 1000, completion: 1000 });
  const t = await keyApp(upstream);
  try {
    const { key } = await storedKey(t, { cost_per_day_micros: 10_000 });
    assert.equal((await ask(t, key)).status, 200);
    let refused = await ask(t, key);
    for (let i = 0; i < 50 && refused.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 10));
      refused = await ask(t, key);
    }
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.type, "rate_limit_error");
    assert.match(refused.body.error.message, /cost_per_day_usd budget \(\$0\.01\)/);
    assert.match(refused.body.error.message, /resets at 2026-11-26T00:00:00\.000Z/);
    t.clock.t = Date.UTC(2026, 10, 26, 0, 0, 1);
    assert.equal((await ask(t, key)).status, 200);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("expired and disabled keys get 401 saying which; changes through PATCH apply at once", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const token = await adminSession(t);
    const session = { "x-session-token": token };
    const created = await t.request(
      "/v2/keys",
      json({ name: "ci", expires_at: new Date(t.clock.t + 60_000).toISOString() }, session),
    );
    assert.equal(created.status, 201);
    const record = await created.json();
    assert.equal(record.name, "ci");
    assert.equal((await ask(t, record.key)).status, 200);
    t.clock.advance(60_000);
    const expired = await ask(t, record.key);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error.type, "authentication_error");
    assert.match(expired.body.error.message, /expired/);

    const patch = (body: unknown) =>
      t.request(`/v2/keys/${record.id}`, { ...json(body, session), method: "PATCH" });
    assert.equal((await patch({ expires_at: null, enabled: false })).status, 200);
    const disabled = await ask(t, record.key);
    assert.equal(disabled.status, 401);
    assert.match(disabled.body.error.message, /disabled/);
    const enabled = await patch({ enabled: true });
    assert.equal((await enabled.json()).enabled, true);
    assert.equal((await ask(t, record.key)).status, 200);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("allowed_models takes exact names and * patterns; other models get 403 naming the model (truncated)", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const { key } = await storedKey(t, { allowed_models: ["claude-sonnet-*", "gpt-x"] });
    assert.equal((await ask(t, key, message("hi", "claude-sonnet-4-6"))).status, 200);
    assert.equal((await ask(t, key, message("hi", "gpt-x"))).status, 200);
    const refused = await ask(t, key, message("hi", "claude-opus-4-1"));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.type, "permission_error");
    assert.match(refused.body.error.message, /"claude-opus-4-1"/);
    const long = "claude-opus-" + "x".repeat(150);
    const truncated = await ask(t, key, message("hi", long));
    assert.equal(truncated.status, 403, truncated.text);
    assert.ok(truncated.body.error.message.includes(long.slice(0, 100) + "…"));
    assert.ok(!truncated.body.error.message.includes(long));
    assert.equal(upstream.seen.length, 2);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("allowed_channels: a model only other channels serve is a 403 before any upstream call", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const { key } = await storedKey(t, { allowed_channels: ["gemini"] });
    const refused = await ask(t, key, message("hi", "claude-sonnet-4-6"));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.type, "permission_error");
    assert.match(refused.body.error.message, /claude-sonnet-4-6/);
    const { key: custom } = await storedKey(t, { allowed_channels: ["custom_api"] });
    assert.equal((await ask(t, custom)).status, 200);
    assert.equal(upstream.seen.length, 1);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("the OpenAI route applies the same rules with OpenAI errors and x-ratelimit headers", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const { key } = await storedKey(t, {
      requests_per_minute: 1,
      tokens_per_day: 100_000,
      allowed_models: ["claude-*"],
    });
    const body = (stream: boolean, model = "claude-sonnet-4-6") => ({
      model,
      stream,
      messages: [{ role: "user", content: "hi" }],
    });
    const ok = await ask(t, key, body(true), "/v1/chat/completions");
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /data: \[DONE\]/);
    assert.equal(ok.headers.get("x-ratelimit-limit-requests"), "1");
    assert.equal(ok.headers.get("x-ratelimit-remaining-requests"), "0");
    assert.match(ok.headers.get("x-ratelimit-reset-requests")!, /^(1m0s|\d+s)$/);
    assert.equal(ok.headers.get("x-ratelimit-limit-tokens"), "100000");
    assert.ok(Number(ok.headers.get("x-ratelimit-remaining-tokens")) < 100_000);
    assert.match(ok.headers.get("x-ratelimit-reset-tokens")!, /^\d+h\d+m\d+s$/);
    assert.equal(ok.headers.get("anthropic-ratelimit-requests-limit"), null);
    const refused = await ask(t, key, body(false), "/v1/chat/completions");
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, "rate_limit_exceeded");
    assert.match(refused.body.error.message, /requests_per_minute/);
    assert.equal(refused.body.type, undefined, "OpenAI's error shape, not Claude's");
    assert.ok(refused.headers.get("retry-after"));
    assert.equal(refused.headers.get("x-ratelimit-remaining-requests"), "0");
    t.clock.advance(60_000);
    const forbidden = await ask(t, key, body(false, "gpt-x"), "/v1/chat/completions");
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body.error.message, /gpt-x/);
    assert.equal(forbidden.body.type, undefined);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("API_KEY keys are unlimited, listed as env and not editable; stored keys list without secrets", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const token = await adminSession(t);
    const session = { "x-session-token": token };
    for (let i = 0; i < 5; i++) {
      const answer = await ask(t, API_KEY);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get("anthropic-ratelimit-requests-limit"), null);
    }
    const own = await t.request("/v1/key", { headers: { "x-api-key": API_KEY } });
    assert.deepEqual(await own.json(), { id: "env:0", source: "env", editable: false, unlimited: true });
    await storedKey(t, { requests_per_minute: 5 });
    const listed = await (await t.request("/v2/keys", { headers: session })).json();
    assert.equal(listed[0].id, "env:0");
    assert.equal(listed[0].source, "env");
    assert.equal(listed[0].editable, false);
    assert.equal(listed[1].source, "store");
    assert.equal(listed[1].editable, true);
    assert.equal(listed[1].requests_per_minute, 5);
    assert.equal(listed[1].key_hash, undefined);
    assert.ok(!JSON.stringify(listed).includes(API_KEY));
    const patched = await t.request("/v2/keys/env:0", {
      ...json({ requests_per_minute: 1 }, session),
      method: "PATCH",
    });
    assert.equal(patched.status, 403);
    const refusal = await patched.json();
    assert.equal(refusal.error.type, "permission_error");
    assert.match(refusal.error.message, /API_KEY.*cannot be edited/);
    const deleted = await t.request("/v2/keys/env:0", { method: "DELETE", headers: session });
    assert.equal(deleted.status, 403);
    await deleted.body?.cancel();
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("PATCH and POST validate every field with a 400 naming it; unknown fields are refused", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const session = { "x-session-token": await adminSession(t) };
    const { id } = await storedKey(t, {});
    const cases: Array<[unknown, RegExp]> = [
      [{ requests_per_minute: -1 }, /^requests_per_minute: /],
      [{ tokens_per_day: 1.5 }, /^tokens_per_day: /],
      [{ expires_at: "tomorrow" }, /^expires_at: /],
      [{ allowed_channels: ["nowhere"] }, /^allowed_channels\.0: /],
      [{ allowed_models: ["a b"] }, /^allowed_models\.0: /],
      [{ cost_per_day_usd: "5" }, /^cost_per_day_usd: /],
      [{ enabled: "yes" }, /^enabled: /],
      [{ rpm: 5 }, /rpm/],
    ];
    for (const [body, pattern] of cases) {
      const response = await t.request(`/v2/keys/${id}`, { ...json(body, session), method: "PATCH" });
      assert.equal(response.status, 400, JSON.stringify(body));
      const error = await response.json();
      assert.equal(error.error.type, "invalid_request_error");
      assert.match(error.error.message, pattern);
    }
    const bad = await t.request("/v2/keys", json({ max_concurrency: 0.5 }, session));
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const missing = await t.request("/v2/keys/nope", { ...json({ note: "x" }, session), method: "PATCH" });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    // null clears a limit.
    const set = await t.request(`/v2/keys/${id}`, {
      ...json({ cost_per_month_usd: 12.5 }, session),
      method: "PATCH",
    });
    assert.equal((await set.json()).cost_per_month_usd, 12.5);
    const cleared = await t.request(`/v2/keys/${id}`, {
      ...json({ cost_per_month_usd: null }, session),
      method: "PATCH",
    });
    assert.equal((await cleared.json()).cost_per_month_usd, null);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("GET /v1/key tells a key its settings, what it used, what remains and when each window resets", async () => {
  const upstream = fakeUpstream({ prompt: 100, completion: 50 });
  const t = await keyApp(upstream);
  try {
    const { key, id } = await storedKey(t, {
      requests_per_minute: 10,
      tokens_per_day: 1000,
      cost_per_month_micros: 5_000_000,
    });
    assert.equal((await ask(t, key)).status, 200);
    await settled(t, id, (n) => n === 150);
    const response = await t.request("/v1/key", { headers: { "x-api-key": key } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("anthropic-ratelimit-requests-limit"), "10", "headers on every answer");
    assert.equal(
      response.headers.get("anthropic-ratelimit-requests-remaining"),
      "9",
      "reading is not a request",
    );
    assert.equal(response.headers.get("anthropic-ratelimit-tokens-remaining"), "850");
    const own = await response.json();
    assert.equal(own.id, id);
    assert.equal(own.requests_per_minute, 10);
    assert.equal(own.cost_per_month_usd, 5);
    assert.equal(own.usage.requests_this_minute, 1);
    assert.equal(own.usage.tokens_today, 150);
    assert.equal(own.remaining.tokens_today, 850);
    assert.equal(own.remaining.requests_this_minute, 9);
    assert.equal(own.remaining.tokens_this_month, null);
    assert.ok(own.remaining.cost_this_month_usd < 5);
    assert.equal(own.resets.day, "2026-11-26T00:00:00.000Z");
    assert.equal(own.resets.month, "2026-12-01T00:00:00.000Z");
    assert.equal(JSON.stringify(own).includes("key_hash"), false);
    // The admin's key list shows the same use, remaining budgets and resets, for a disabled key too.
    const session = { "x-session-token": await adminSession(t) };
    const listedKey = async () =>
      // deno-lint-ignore no-explicit-any
      (await (await t.request("/v2/keys", { headers: session })).json()).find((k: any) => k.id === id);
    const listed = await listedKey();
    assert.deepEqual(
      { usage: listed.usage, remaining: listed.remaining, resets: listed.resets },
      { usage: own.usage, remaining: own.remaining, resets: own.resets },
    );
    const disabled = await t.request(`/v2/keys/${id}`, {
      ...json({ enabled: false }, session),
      method: "PATCH",
    });
    assert.equal(disabled.status, 200);
    await disabled.body?.cancel();
    const after = await listedKey();
    assert.equal(after.enabled, false);
    assert.equal(after.usage.tokens_today, 150);
    assert.equal(after.remaining.tokens_today, 850);
  } finally {
    await t.close();
    await upstream.stop();
  }
});

Deno.test("rate-limit headers also come with answers that never reached admission: bad input, a forbidden model, count_tokens", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const { key } = await storedKey(t, { requests_per_minute: 3, allowed_models: ["claude-*"] });
    assert.equal((await ask(t, key)).status, 200);
    const bad = await ask(t, key, { model: "claude-sonnet-4-6", messages: "nope" });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("anthropic-ratelimit-requests-remaining"), "2");
    const forbidden = await ask(t, key, message("hi", "gpt-x"));
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers.get("anthropic-ratelimit-requests-limit"), "3");
    const openAI = await ask(
      t,
      key,
      { model: "gpt-x", messages: [{ role: "user", content: "hi" }] },
      "/v1/chat/completions",
    );
    assert.equal(openAI.status, 403);
    assert.equal(openAI.headers.get("x-ratelimit-remaining-requests"), "2");
    assert.equal(openAI.headers.get("anthropic-ratelimit-requests-limit"), null);
    const count = await t.request(
      "/v1/messages/count_tokens",
      json({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "hi" }] }, { "x-api-key": key }),
    );
    assert.equal(count.status, 200);
    await count.body?.cancel();
    assert.equal(count.headers.get("anthropic-ratelimit-requests-remaining"), "2");
    // A key without request or token limits gets none.
    const { key: plain } = await storedKey(t, { allowed_models: ["claude-*"] });
    const none = await ask(t, plain, message("hi", "gpt-x"));
    assert.equal(none.headers.get("anthropic-ratelimit-requests-limit"), null);
  } finally {
    await t.close();
    await upstream.stop();
  }
});
