/**
 * Failover before the first byte and what each failure does to the account (issue 4): a 429 cools the
 * account down, a 5xx only records the error, an Amazon Q 403 `TEMPORARILY_SUSPENDED` and a dead refresh
 * token disable it with the reason, an exhausted quota parks it until its reset (a Gemini account only for
 * the exhausted model) and it resumes there by itself, a token still refused after one forced refresh cools
 * it down. In every case the client sees one success from another account. `/v2/accounts/{id}/stats`
 * reports what happened.
 */
import assert from "node:assert/strict";
import { adminSession, makeTestApp } from "../../_helpers/test_app.ts";
import { jsonResponse, sse } from "../../_helpers/gemini_helpers.ts";
import {
  addAccount,
  addAmazonQ,
  addCustom,
  amazonQEnv,
  amazonQFailure,
  answerText,
  ask,
  fakeAmazonQ,
  fakeOpenAI,
  openAIFailure,
  settle,
} from "../../_helpers/pool_helpers.ts";

/** Picks the heavy account first whatever the list order: 0.5 × (100 + 1) falls inside weight 100. */
const HEAVY_FIRST = () => 0.5;

Deno.test("429 on one account: the client sees one success, the account cools down, stats tell why", async () => {
  const fake = fakeOpenAI((seen) =>
    seen.key === "bad"
      ? openAIFailure(429, "Rate limit reached for requests", { "retry-after": "45" })
      : undefined
  );
  const t = makeTestApp({ random: HEAVY_FIRST });
  try {
    const bad = await addCustom(t, fake, "bad", { weight: 100 });
    await addCustom(t, fake, "good", { weight: 1 });
    assert.equal(await answerText(await ask(t, "hello")), "ok:good");
    assert.deepEqual(fake.seen.map((s) => s.key), ["bad", "good"]);
    const stored = (await t.store.accounts.get(bad.id))!;
    assert.equal(stored.cooldown_until, t.clock.now() + 45_000);
    assert.equal(stored.enabled, true);

    // While it cools down, the heavy account is skipped without a call.
    assert.equal(await answerText(await ask(t, "again")), "ok:good");
    assert.equal(fake.count("bad"), 1);

    await settle();
    const token = await adminSession(t);
    const stats =
      await (await t.request(`/v2/accounts/${bad.id}/stats`, { headers: { "x-session-token": token } }))
        .json();
    assert.equal(stats.total_calls, 1);
    assert.equal(stats.successes, 0);
    assert.equal(stats.failures, 1);
    assert.deepEqual(stats.failures_by_class, { throttled: 1 });
    assert.match(stats.last_error, /Rate limit reached/);
    assert.equal(stats.last_used, new Date(t.clock.now()).toISOString());
    assert.equal(stats.is_in_cooldown, true);
    assert.equal(stats.cooldown_until, new Date(t.clock.now() + 45_000).toISOString());
    assert.equal(stats.cooldown_remaining_seconds, 45);

    const goodStats = await t.store.accounts.stats(
      (await t.store.accounts.list()).find((a) => a.label === "good")!.id,
      t.clock.now(),
    );
    assert.equal(goodStats.successes, 2);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("5xx on one account: one success for the client; the account stays enabled, not cooling", async () => {
  const fake = fakeOpenAI((seen) =>
    seen.key === "flaky" ? openAIFailure(503, "upstream overloaded") : undefined
  );
  const t = makeTestApp({ random: HEAVY_FIRST });
  try {
    const flaky = await addCustom(t, fake, "flaky", { weight: 100 });
    await addCustom(t, fake, "steady", { weight: 1 });
    assert.equal(await answerText(await ask(t, "hello")), "ok:steady");
    const stored = (await t.store.accounts.get(flaky.id))!;
    assert.equal(stored.enabled, true);
    assert.equal(stored.cooldown_until, null);
    assert.match(stored.last_error ?? "", /503|overloaded/);
    const stats = await t.store.accounts.stats(flaky.id, t.clock.now());
    assert.deepEqual(stats.failures_by_class, { transient: 1 });
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("Amazon Q 403 TEMPORARILY_SUSPENDED disables the account with the reason; the client is served elsewhere", async () => {
  const fake = fakeAmazonQ({
    script: (seen) =>
      seen.key === "at-banned"
        ? amazonQFailure(
          403,
          "AccessDeniedException",
          "Your account is temporarily suspended",
          "TEMPORARILY_SUSPENDED",
        )
        : undefined,
  });
  const t = makeTestApp({ env: amazonQEnv(fake), random: HEAVY_FIRST });
  try {
    const banned = await addAmazonQ(t, "banned", { weight: 100 });
    await addAmazonQ(t, "fine", { weight: 1 });
    assert.equal(await answerText(await ask(t, "hello", { model: "claude-sonnet-4-5" })), "ok:at-fine");
    assert.equal(fake.refreshes.length, 0, "a suspension is not mistaken for a stale token");
    const token = await adminSession(t);
    const view =
      await (await t.request(`/v2/accounts/${banned.id}`, { headers: { "x-session-token": token } })).json();
    assert.equal(view.enabled, false);
    assert.equal(view.status, "disabled");
    assert.match(view.disabled_reason, /^suspended: .*TEMPORARILY_SUSPENDED/);
    assert.equal(view.disabled_at, t.clock.now());

    // It is never picked again, and re-enabling by hand clears the reason.
    for (let i = 0; i < 3; i++) {
      assert.equal(await answerText(await ask(t, `q${i}`, { model: "claude-sonnet-4-5" })), "ok:at-fine");
    }
    assert.equal(fake.count("at-banned"), 1);
    const patched = await (await t.request(`/v2/accounts/${banned.id}`, {
      method: "PATCH",
      headers: { "x-session-token": token, "content-type": "application/json" },
      body: JSON.stringify({ enabled: true }),
    })).json();
    assert.equal(patched.enabled, true);
    assert.equal(patched.disabled_reason, null);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("Amazon Q monthly quota parks the account until the 1st of next month; it resumes there by itself", async () => {
  let exhausted = true;
  const fake = fakeAmazonQ({
    script: (seen) =>
      seen.key === "at-spent" && exhausted
        ? amazonQFailure(
          400,
          "ServiceQuotaExceededException",
          "Monthly request limit reached",
          "MONTHLY_REQUEST_COUNT",
        )
        : undefined,
  });
  const t = makeTestApp({ env: amazonQEnv(fake), random: HEAVY_FIRST });
  try {
    const spent = await addAmazonQ(t, "spent", { weight: 100 });
    const other = await addAmazonQ(t, "other", { weight: 1 });
    assert.equal(await answerText(await ask(t, "hello", { model: "claude-sonnet-4-5" })), "ok:at-other");
    const reset = Date.UTC(2026, 11, 1);
    const stored = (await t.store.accounts.get(spent.id))!;
    assert.equal(stored.parked_until, reset);
    assert.equal(stored.enabled, true, "exhaustion parks, it does not disable");

    // With the other account switched off, the client is told when to come back.
    await t.store.accounts.update(other.id, { enabled: false });
    const parked = await ask(t, "still?", { model: "claude-sonnet-4-5" });
    assert.equal(parked.status, 429);
    assert.equal(Number(parked.headers.get("retry-after")), Math.ceil((reset - t.clock.now()) / 1000));
    await parked.body?.cancel();
    // The allowance read that the quota error triggers is not a request: count only requests.
    const requests = (key: string) => fake.seen.filter((s) => s.key === key && s.path !== "/getUsageLimits");
    assert.equal(requests("at-spent").length, 1, "a parked account is never called");

    exhausted = false;
    t.clock.advance(reset - t.clock.now() - 1_000);
    const early = await ask(t, "almost", { model: "claude-sonnet-4-5" });
    assert.equal(early.status, 429);
    await early.body?.cancel();
    t.clock.advance(1_000);
    assert.equal(await answerText(await ask(t, "new month", { model: "claude-sonnet-4-5" })), "ok:at-spent");
  } finally {
    await t.close();
    await fake.close();
  }
});

/** A Code Assist success stream. */
function geminiOk(text: string): Response {
  const body = sse({
    response: {
      candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 1, totalTokenCount: 6 },
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

Deno.test("Gemini quota_exhausted parks only the exhausted model until its reset", async () => {
  const models: string[] = [];
  let resetAt = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    models.push(body.model);
    if (body.model === "gemini-2.5-pro" && resetAt > 0) {
      return jsonResponse({
        error: {
          code: 429,
          message: "You have exhausted your capacity on this model.",
          status: "RESOURCE_EXHAUSTED",
          details: [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "QUOTA_EXHAUSTED",
            domain: "cloudcode-pa.googleapis.com",
            metadata: { quotaResetTimeStamp: new Date(resetAt).toISOString() },
          }],
        },
      }, 429);
    }
    return geminiOk(`ok:${body.model}`);
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const t = makeTestApp({ env: { GEMINI_API_ENDPOINT: url } });
  try {
    resetAt = t.clock.now() + 2 * 3_600_000;
    const g = await addAccount(t, {
      type: "gemini",
      label: "g",
      clientId: "cid",
      clientSecret: "cs",
      refreshToken: "rt",
      accessToken: "at",
      other: { project: "proj-1" },
      rate_limit_per_hour: 0,
    });
    const first = await ask(t, "pro please", { model: "gemini-2.5-pro" });
    assert.equal(first.status, 429);
    await first.body?.cancel();
    const stored = (await t.store.accounts.get(g.id))!;
    assert.deepEqual(stored.other.quota_parked, { "gemini-2.5-pro": resetAt });
    assert.equal(stored.parked_until, null, "the account as a whole is not parked");
    assert.equal(stored.cooldown_until, null);

    assert.equal(
      await answerText(await ask(t, "flash please", { model: "gemini-2.5-flash" })),
      "ok:gemini-2.5-flash",
    );
    const again = await ask(t, "pro please", { model: "gemini-2.5-pro" });
    assert.equal(again.status, 429);
    assert.equal(again.headers.get("retry-after"), "7200");
    await again.body?.cancel();
    assert.deepEqual(models, ["gemini-2.5-pro", "gemini-2.5-flash"], "the parked model was not called again");

    resetAt = 0;
    t.clock.advance(2 * 3_600_000);
    assert.equal(
      await answerText(await ask(t, "pro please", { model: "gemini-2.5-pro" })),
      "ok:gemini-2.5-pro",
    );
  } finally {
    await t.close();
    await server.shutdown();
  }
});

Deno.test("a token still refused after one forced refresh cools the account down (auth)", async () => {
  const fake = fakeAmazonQ({
    script: (seen) =>
      seen.key.startsWith("at-stale") || seen.key.startsWith("at-rt-stale")
        ? amazonQFailure(403, "AccessDeniedException", "The bearer token included in the request is invalid")
        : undefined,
  });
  const t = makeTestApp({ env: amazonQEnv(fake), random: HEAVY_FIRST });
  try {
    const stale = await addAmazonQ(t, "stale", { weight: 100 });
    await addAmazonQ(t, "fresh", { weight: 1 });
    assert.equal(await answerText(await ask(t, "hello", { model: "claude-sonnet-4-5" })), "ok:at-fresh");
    assert.equal(fake.refreshes.length, 1, "exactly one forced refresh, no loop");
    assert.deepEqual(fake.seen.filter((s) => s.path !== "/token").map((s) => s.key), [
      "at-stale",
      "at-rt-stale-1",
      "at-fresh",
    ]);
    const stored = (await t.store.accounts.get(stale.id))!;
    assert.equal(stored.cooldown_until, t.clock.now() + 300_000);
    assert.equal(stored.enabled, true);
    assert.equal(stored.accessToken, "at-rt-stale-1", "the refreshed token was kept");
    const stats = await t.store.accounts.stats(stale.id, t.clock.now());
    assert.deepEqual(stats.failures_by_class, { auth: 1 });
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("invalid_grant on refresh disables the account with the reason; the client is served elsewhere", async () => {
  const fake = fakeAmazonQ({
    refresh: (body) =>
      body.refreshToken === "rt-revoked"
        ? Response.json({ error: "invalid_grant", error_description: "Invalid refresh token provided" }, {
          status: 400,
        })
        : Response.json({ accessToken: `at-new-${body.refreshToken}`, expiresIn: 3600 }),
  });
  const t = makeTestApp({ env: amazonQEnv(fake), random: HEAVY_FIRST });
  try {
    const revoked = await addAmazonQ(t, "revoked", { weight: 100, tokenExpiresAt: t.clock.now() - 1_000 });
    await addAmazonQ(t, "alive", { weight: 1 });
    assert.equal(await answerText(await ask(t, "hello", { model: "claude-sonnet-4-5" })), "ok:at-alive");
    const stored = (await t.store.accounts.get(revoked.id))!;
    assert.equal(stored.enabled, false);
    assert.match(stored.disabled_reason ?? "", /^invalid_grant: .*invalid_grant/);
    assert.equal(stored.last_refresh_status, "failed_invalid_grant");
    assert.equal(fake.refreshes.length, 1, "a dead grant is not retried");
    assert.equal(fake.count("at-revoked"), 0, "the expired token was never sent");
  } finally {
    await t.close();
    await fake.close();
  }
});
