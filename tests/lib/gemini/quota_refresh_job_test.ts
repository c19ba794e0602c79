import assert from "node:assert/strict";
import { runGeminiQuotaJob } from "../../../lib/gemini/quota_refresh_job.ts";
import type { ModelQuota } from "../../../lib/gemini/code_assist_client.ts";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import type { TokenSource } from "../../../lib/accounts/token_source.ts";
import { adminSession, Clock, makeTestApp } from "../../_helpers/test_app.ts";

const tokens: TokenSource = {
  accessToken: () => Promise.resolve("token"),
  renew: () => Promise.resolve({ token: "token", refreshed: true }),
};

Deno.test("the quota job stores per-model quota, parks exhausted models until reset and skips fresh accounts", async () => {
  const clock = new Clock();
  const store = openSqliteStore(":memory:", { now: clock.now });
  try {
    const reset = new Date(clock.t + 2 * 3_600_000).toISOString();
    const a = await store.accounts.create({ type: "gemini", refreshToken: "r", other: { project: "p" } });
    await store.accounts.create({
      type: "gemini",
      refreshToken: "r",
      enabled: false,
      other: { project: "p" },
    });
    let calls = 0;
    const fetchQuota = (): Promise<Record<string, ModelQuota>> => {
      calls++;
      return Promise.resolve({
        "gemini-2.5-pro": { remainingFraction: 0, resetTime: reset },
        "gemini-2.5-flash": { remainingFraction: 0.5, resetTime: null },
      });
    };
    const deps = { store, tokens, fetchQuota, now: clock.now, holder: "test", maxAgeMs: 600_000 };
    assert.deepEqual(await runGeminiQuotaJob(deps), { due: 1, updated: 1, failed: 0 });
    const stored = (await store.accounts.get(a.id))!;
    assert.equal(
      (stored.other.quota as Record<string, ModelQuota>)["gemini-2.5-flash"]!.remainingFraction,
      0.5,
    );
    assert.deepEqual(stored.other.quota_parked, { "gemini-2.5-pro": Date.parse(reset) });
    // Fresh quota is not read again; after maxAge it is.
    assert.deepEqual(await runGeminiQuotaJob(deps), { due: 0, updated: 0, failed: 0 });
    clock.advance(600_000);
    await runGeminiQuotaJob(deps);
    assert.equal(calls, 2);
  } finally {
    await store.close();
  }
});

Deno.test("GET /v2/accounts/{id}/quota reads the store, and refresh=true is limited to once a minute", async () => {
  const t = makeTestApp();
  try {
    const session = await adminSession(t);
    const headers = { "x-session-token": session };
    const a = await t.store.accounts.create({
      type: "gemini",
      refreshToken: "r",
      other: {
        project: "p",
        quota: { m: { remainingFraction: 1, resetTime: null } },
        quota_updated_at: new Date(t.clock.t).toISOString(),
      },
    });
    const read = await t.request(`/v2/accounts/${a.id}/quota`, { headers });
    assert.equal(read.status, 200);
    assert.deepEqual((await read.json()).quota, { m: { remainingFraction: 1, resetTime: null } });
    const limited = await t.request(`/v2/accounts/${a.id}/quota?refresh=true`, { headers });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    await limited.body?.cancel();
    const custom = await t.store.accounts.create({
      type: "custom_api",
      clientSecret: "k",
      other: { api_base: "http://127.0.0.1:9" },
    });
    const wrong = await t.request(`/v2/accounts/${custom.id}/quota`, { headers });
    assert.equal(wrong.status, 400);
    await wrong.body?.cancel();
  } finally {
    await t.close();
  }
});
