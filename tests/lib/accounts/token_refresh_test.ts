/**
 * Token refresh (issue 4): one refresh per account however many requests find its token expired, manual
 * refreshes sharing that single flight, and the scheduled job (`runRefreshJob`) tested directly: what it
 * picks, idempotence, invalid grants, leases, and two instances running it at once.
 */
import assert from "node:assert/strict";
import { AccountPool } from "../../../lib/accounts/account_pool.ts";
import { runRefreshJob } from "../../../lib/accounts/refresh_job.ts";
import { TokenManager } from "../../../lib/accounts/token_manager.ts";
import type { RefreshedTokens, TokenRefresher } from "../../../lib/accounts/token_source.ts";
import { UpstreamError } from "../../../lib/errors.ts";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import type { Account, Store } from "../../../lib/store/types.ts";
import { adminSession, Clock, makeTestApp } from "../../_helpers/test_app.ts";
import { addAmazonQ, amazonQEnv, answerText, ask, fakeAmazonQ } from "../../_helpers/pool_helpers.ts";

Deno.test("100 concurrent requests over 3 accounts with expired tokens cause exactly 3 refreshes", async () => {
  const fake = fakeAmazonQ({
    refresh: async (body, n) => {
      await new Promise((r) => setTimeout(r, 80));
      return Response.json({
        accessToken: `fresh-${body.refreshToken}-${n}`,
        expiresIn: 3600,
        refreshToken: `${body.refreshToken}-rotated`,
      });
    },
  });
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    for (const name of ["q1", "q2", "q3"]) {
      await addAmazonQ(t, name, { accessToken: `expired-${name}`, tokenExpiresAt: t.clock.now() - 60_000 });
    }
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => ask(t, `request ${i}`, { model: "claude-sonnet-4-5" })),
    );
    const texts = await Promise.all(responses.map(answerText));
    assert.equal(texts.length, 100);
    assert.equal(
      fake.refreshes.length,
      3,
      `refreshes: ${JSON.stringify(fake.refreshes.map((r) => r.refreshToken))}`,
    );
    assert.deepEqual(fake.refreshes.map((r) => r.refreshToken).sort(), ["rt-q1", "rt-q2", "rt-q3"]);
    const calls = fake.seen.filter((s) => s.path !== "/token");
    assert.equal(calls.length, 100, "no request needed a retry");
    assert.ok(calls.every((s) => s.key.startsWith("fresh-")), "no expired token was sent upstream");
    for (const account of await t.store.accounts.list()) {
      assert.match(account.accessToken!, /^fresh-/);
      assert.equal(
        account.refreshToken,
        `rt-${account.label}-rotated`,
        "the rotated refresh token was stored",
      );
      assert.equal(account.tokenExpiresAt, t.clock.now() + 3_600_000);
      assert.equal(account.last_refresh_status, "success");
    }
    assert.equal(t.deps.tokens.refreshCount, 3);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("refresh-all, /refresh and the request path share one refresh per account", async () => {
  const fake = fakeAmazonQ({
    refresh: async (body, n) => {
      await new Promise((r) => setTimeout(r, 80));
      if (body.refreshToken === "rt-dead") return Response.json({ error: "invalid_grant" }, { status: 400 });
      return Response.json({ accessToken: `fresh-${body.refreshToken}-${n}`, expiresIn: 3600 });
    },
  });
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    const a = await addAmazonQ(t, "a");
    await addAmazonQ(t, "b");
    const dead = await addAmazonQ(t, "dead");
    const token = await adminSession(t);
    const headers = { "x-session-token": token };
    const [all, one, again, direct] = await Promise.all([
      t.request("/v2/accounts/refresh-all", { method: "POST", headers }),
      t.request(`/v2/accounts/${a.id}/refresh`, { method: "POST", headers }),
      t.request(`/v2/accounts/${a.id}/refresh`, { method: "POST", headers }),
      t.deps.tokens.accessToken((await t.store.accounts.get(a.id))!, { forceRefresh: true }),
    ]);
    const summary = await all.json();
    assert.equal(summary.total, 3);
    assert.equal(summary.success_count, 2);
    assert.equal(summary.banned_count, 1);
    assert.equal(one.status, 200);
    assert.equal(again.status, 200);
    const oneView = await one.json();
    await again.body?.cancel();
    assert.equal(oneView.last_refresh_status, "success");
    assert.match(direct, /^fresh-rt-a-/);
    const perToken = (rt: string) => fake.refreshes.filter((r) => r.refreshToken === rt).length;
    assert.equal(perToken("rt-a"), 1, "four concurrent refreshes of one account made one call");
    assert.equal(perToken("rt-b"), 1);
    assert.equal(perToken("rt-dead"), 1);
    const deadNow = (await t.store.accounts.get(dead.id))!;
    assert.equal(deadNow.enabled, false);
    assert.match(deadNow.disabled_reason ?? "", /^invalid_grant/);

    // A refreshed account is used right away by requests (the store announced the write to the pool).
    assert.match(await answerText(await ask(t, "hi", { model: "claude-sonnet-4-5" })), /^ok:fresh-rt-[ab]-/);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a refused client secret is a configuration error: the account is not banned or disabled", async () => {
  // What AWS SSO-OIDC answers a CreateToken call whose client secret does not match the client ID.
  const fake = fakeAmazonQ({
    refresh: () =>
      Promise.resolve(
        Response.json({ error: "invalid_client", error_description: "Invalid client provided" }, {
          status: 401,
        }),
      ),
  });
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    const account = await addAmazonQ(t, "typo");
    const headers = { "x-session-token": await adminSession(t) };
    const all = await (await t.request("/v2/accounts/refresh-all", { method: "POST", headers })).json();
    assert.equal(all.banned_count, 0);
    assert.equal(all.failed_count, 1);
    assert.equal(all.results[0].status, "failed");
    assert.match(all.results[0].message, /client ID or client secret/);
    const now = (await t.store.accounts.get(account.id))!;
    assert.equal(now.enabled, true);
    assert.equal(now.disabled_reason, null);
    assert.match(now.last_error ?? "", /invalid_client/);
  } finally {
    await t.close();
    await fake.close();
  }
});

/** A refresher without HTTP: counts calls per refresh token, fails the ones in `dead`. */
class FakeRefresher implements TokenRefresher {
  calls: string[] = [];
  constructor(private now: () => number, private dead = new Set<string>(), private delayMs = 10) {}
  async refresh(account: Account): Promise<RefreshedTokens> {
    this.calls.push(account.refreshToken!);
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.dead.has(account.refreshToken!)) {
      throw new UpstreamError("invalid_grant", "refresh token revoked (invalid_grant)", {
        provider: account.type,
        upstreamStatus: 400,
      });
    }
    return {
      accessToken: `new-${account.refreshToken}-${this.calls.length}`,
      expiresAt: this.now() + 3_600_000,
    };
  }
}

async function jobFixture(clock: Clock, store: Store = openSqliteStore(":memory:", { now: clock.now })) {
  const now = clock.now();
  const ids: Record<string, string> = {};
  const add = async (name: string, input: Parameters<Store["accounts"]["create"]>[0]) => {
    ids[name] = (await store.accounts.create({ label: name, refreshToken: `rt-${name}`, ...input })).id;
  };
  await add("due", { type: "amazonq", accessToken: "old", tokenExpiresAt: now + 30_000 });
  await add("fresh", { type: "amazonq", accessToken: "ok", tokenExpiresAt: now + 7_200_000 });
  await add("noaccess", { type: "amazonq", accessToken: null });
  await add("unknown-expiry", { type: "amazonq", accessToken: "opaque", tokenExpiresAt: null });
  await add("disabled", { type: "amazonq", accessToken: "old", tokenExpiresAt: now - 1, enabled: false });
  await add("gemini", { type: "gemini", accessToken: "old", tokenExpiresAt: now + 10_000 });
  await add("dead", { type: "amazonq", accessToken: "old", tokenExpiresAt: now - 1 });
  await add("custom", {
    type: "custom_api",
    clientSecret: "sk",
    other: { api_base: "http://127.0.0.1:1/v1" },
  });
  return { store, ids };
}

Deno.test("runRefreshJob refreshes exactly the enabled accounts that expire within the lead, and is idempotent", async () => {
  const clock = new Clock();
  const { store, ids } = await jobFixture(clock);
  try {
    const refresher = new FakeRefresher(clock.now, new Set(["rt-dead"]));
    const tokens = new TokenManager(store, { amazonq: refresher, gemini: refresher }, clock.now);
    const pool = new AccountPool(store, { now: clock.now });
    const deps = { store, tokens, pool, now: clock.now, holder: "instance-a", leadMs: 60_000 };

    const first = await runRefreshJob(deps);
    assert.deepEqual(first, { due: 4, refreshed: 3, failed: 1, skipped: 0 });
    assert.deepEqual(refresher.calls.sort(), ["rt-dead", "rt-due", "rt-gemini", "rt-noaccess"]);
    const dead = (await store.accounts.get(ids.dead!))!;
    assert.equal(dead.enabled, false);
    assert.match(dead.disabled_reason ?? "", /^invalid_grant/);
    assert.equal((await store.accounts.get(ids.due!))!.tokenExpiresAt, clock.now() + 3_600_000);
    assert.equal((await store.accounts.get(ids.fresh!))!.accessToken, "ok");

    const second = await runRefreshJob(deps);
    assert.deepEqual(second, { due: 0, refreshed: 0, failed: 0, skipped: 0 }, "nothing left to do");

    // Two hours on, every token it handed out (and the one that was fresh) is due again.
    clock.advance(2 * 3_600_000);
    const third = await runRefreshJob(deps);
    assert.equal(third.due, 4);
    assert.equal(third.refreshed, 4);
  } finally {
    await store.close();
  }
});

Deno.test("runRefreshJob skips an account whose lease another instance holds", async () => {
  const clock = new Clock();
  const { store, ids } = await jobFixture(clock);
  try {
    const refresher = new FakeRefresher(clock.now, new Set(["rt-dead"]));
    const tokens = new TokenManager(store, { amazonq: refresher, gemini: refresher }, clock.now);
    const pool = new AccountPool(store, { now: clock.now });
    assert.ok(await store.leases.acquire(`refresh:${ids.due}`, "instance-b", clock.now(), 120_000));
    const result = await runRefreshJob({
      store,
      tokens,
      pool,
      now: clock.now,
      holder: "instance-a",
      leadMs: 60_000,
    });
    assert.equal(result.skipped, 1);
    assert.ok(!refresher.calls.includes("rt-due"));
    // Once the other instance's lease runs out, this one takes the account.
    clock.advance(120_001);
    const later = await runRefreshJob({
      store,
      tokens,
      pool,
      now: clock.now,
      holder: "instance-a",
      leadMs: 60_000,
    });
    assert.equal(later.refreshed, 1);
    assert.ok(refresher.calls.includes("rt-due"));
  } finally {
    await store.close();
  }
});

Deno.test("two instances running the job at once refresh each account once", async () => {
  const clock = new Clock();
  const { store } = await jobFixture(clock);
  try {
    const refresher = new FakeRefresher(clock.now, new Set(["rt-dead"]), 30);
    // Separate token managers: the single flight is per instance, the lease and the re-read are shared.
    const instance = (holder: string) => ({
      store,
      tokens: new TokenManager(store, { amazonq: refresher, gemini: refresher }, clock.now),
      pool: new AccountPool(store, { now: clock.now }),
      now: clock.now,
      holder,
      leadMs: 60_000,
      concurrency: 2,
    });
    const [a, b] = await Promise.all([runRefreshJob(instance("a")), runRefreshJob(instance("b"))]);
    assert.equal(a.due, 4);
    assert.equal(b.due, 4);
    const counts = new Map<string, number>();
    for (const rt of refresher.calls) counts.set(rt, (counts.get(rt) ?? 0) + 1);
    assert.deepEqual([...counts.entries()].sort(), [["rt-dead", 1], ["rt-due", 1], ["rt-gemini", 1], [
      "rt-noaccess",
      1,
    ]]);
  } finally {
    await store.close();
  }
});

Deno.test("TokenManager: a forced refresh after a refusal reuses a token another caller already renewed", async () => {
  const clock = new Clock();
  const store = openSqliteStore(":memory:", { now: clock.now });
  try {
    const refresher = new FakeRefresher(clock.now);
    const tokens = new TokenManager(store, { amazonq: refresher }, clock.now);
    const account = await store.accounts.create({
      type: "amazonq",
      refreshToken: "rt-x",
      accessToken: "refused",
      tokenExpiresAt: null,
    });
    const renewed = await tokens.accessToken(account, { forceRefresh: true });
    assert.equal(renewed, "new-rt-x-1");
    // A second request that also saw "refused" before the renewal does not refresh again.
    assert.equal(await tokens.accessToken(account, { forceRefresh: true }), "new-rt-x-1");
    assert.equal(refresher.calls.length, 1);
    // Custom accounts have no refresh: the key is the token.
    const custom = await store.accounts.create({ type: "custom_api", clientSecret: "sk-k", other: {} });
    assert.equal(await tokens.accessToken(custom, { forceRefresh: true }), "sk-k");
  } finally {
    await store.close();
  }
});

Deno.test("TokenManager.renew is keyed to the refused token: a newer stored token without refresh, else one refresh", async () => {
  const clock = new Clock();
  const store = openSqliteStore(":memory:", { now: clock.now });
  try {
    const refresher = new FakeRefresher(clock.now);
    const tokens = new TokenManager(store, { amazonq: refresher }, clock.now);
    const account = await store.accounts.create({
      type: "amazonq",
      refreshToken: "rt-x",
      accessToken: "current",
      tokenExpiresAt: null,
    });
    // A request that sent an older token gets the stored one, and learns no refresh produced it.
    assert.deepEqual(await tokens.renew(account, "older"), { token: "current", refreshed: false });
    assert.equal(refresher.calls.length, 0);
    // Ten requests that sent the stored token share one refresh.
    const renewed = await Promise.all(Array.from({ length: 10 }, () => tokens.renew(account, "current")));
    assert.equal(refresher.calls.length, 1);
    assert.ok(renewed.every((r) => r.token === "new-rt-x-1" && r.refreshed));
    // A late request that still reports "current" gets the renewed token without another refresh.
    assert.deepEqual(await tokens.renew(account, "current"), { token: "new-rt-x-1", refreshed: false });
    assert.equal(refresher.calls.length, 1);
  } finally {
    await store.close();
  }
});
