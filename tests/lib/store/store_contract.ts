/**
 * The behaviour every store engine must have, run against SQLite (`sqlite_store_test.ts`) and MariaDB/MySQL
 * (`mysql_store_test.ts`). Each test gets a fresh, empty database from the engine's harness; tests that need
 * two processes' view of one database open it twice. Engine-specific checks (migrations, schema shape,
 * races between connections) stay in the engine's own test file.
 */
import assert from "node:assert/strict";
import { StoreCache } from "../../../lib/store/store_cache.ts";
import type { Store } from "../../../lib/store/types.ts";

export type OpenStore = (options?: { now?: () => number }) => Promise<Store>;

export interface StoreHarness {
  /** Reported as ignored (e.g. no MySQL server configured). */
  ignore: boolean;
  /** Whether a value longer than its column is refused (MySQL strict mode) rather than stored (SQLite). */
  enforcesColumnLengths: boolean;
  /** Runs `fn` over a fresh database; every store `open` returned is closed afterwards. */
  withDatabase(fn: (open: OpenStore) => Promise<void>): Promise<void>;
}

export function runStoreContract(name: string, harness: StoreHarness): void {
  const test = (title: string, fn: (open: OpenStore) => Promise<void>) =>
    Deno.test({ name: `${name}: ${title}`, ignore: harness.ignore, fn: () => harness.withDatabase(fn) });
  const testStore = (title: string, fn: (store: Store, clock: { t: number }) => Promise<void>) =>
    test(title, async (open) => {
      const clock = { t: Date.UTC(2026, 0, 1) };
      await fn(await open({ now: () => clock.t }), clock);
    });

  testStore(
    "patchOther merges keys, removes null ones, and concurrent patches keep each other's keys",
    async (store) => {
      const account = await store.accounts.create({
        type: "gemini",
        other: { a: 1, b: 2, nested: { x: 1 } },
      });
      await store.accounts.patchOther(account.id, { b: 3, c: 4 });
      assert.deepEqual((await store.accounts.get(account.id))?.other, { a: 1, b: 3, c: 4, nested: { x: 1 } });
      await store.accounts.patchOther(account.id, { a: null, nested: { y: 2 } });
      assert.deepEqual((await store.accounts.get(account.id))?.other, { b: 3, c: 4, nested: { y: 2 } });
      await Promise.all([
        store.accounts.patchOther(account.id, { quota: 1 }),
        store.accounts.patchOther(account.id, { suspended: true }),
        store.accounts.update(account.id, { label: "renamed" }),
      ]);
      let after = await store.accounts.get(account.id);
      assert.deepEqual(after?.other, { b: 3, c: 4, nested: { y: 2 }, quota: 1, suspended: true });
      assert.equal(after?.label, "renamed");
      // Many merges at once (on MySQL on separate pooled connections): the row lock serialises them.
      const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
      await Promise.all([
        ...keys.map((k) => store.accounts.patchOther(account.id, { [k]: true })),
        store.accounts.update(account.id, { label: "renamed again" }),
      ]);
      after = await store.accounts.get(account.id);
      assert.deepEqual(after?.other, {
        b: 3,
        c: 4,
        nested: { y: 2 },
        quota: 1,
        suspended: true,
        ...Object.fromEntries(keys.map((k) => [k, true])),
      });
      assert.equal(after?.label, "renamed again");
      // Unknown ids are a no-op, not an error.
      await store.accounts.patchOther("missing", { a: 1 });
      assert.equal(await store.accounts.get("missing"), null);
    },
  );

  testStore(
    "saveTokens keeps the refresh token unless a rotated one comes, and merges otherPatch",
    async (store, clock) => {
      const account = await store.accounts.create({
        type: "amazonq",
        refreshToken: "refresh-1",
        accessToken: "access-0",
        other: { keep: true },
      });
      assert.equal(account.last_refresh_status, "never");
      clock.t += 1000;
      await store.accounts.saveTokens(account.id, {
        accessToken: "access-1",
        tokenExpiresAt: clock.t + 3_600_000,
        refreshedAt: "2026-01-01T00:00:01Z",
      });
      let stored = await store.accounts.get(account.id);
      assert.equal(stored?.accessToken, "access-1");
      assert.equal(stored?.refreshToken, "refresh-1");
      assert.equal(stored?.tokenExpiresAt, clock.t + 3_600_000);
      assert.equal(stored?.last_refresh_status, "success");
      assert.equal(stored?.last_refresh_time, "2026-01-01T00:00:01Z");
      assert.equal(stored?.updated_at, new Date(clock.t).toISOString());
      assert.deepEqual(stored?.other, { keep: true });

      await store.accounts.saveTokens(account.id, {
        accessToken: "access-2",
        refreshToken: "refresh-2",
        tokenExpiresAt: null,
        otherPatch: { project: "p" },
        refreshedAt: "2026-01-01T00:00:02Z",
      });
      stored = await store.accounts.get(account.id);
      assert.equal(stored?.accessToken, "access-2");
      assert.equal(stored?.refreshToken, "refresh-2");
      assert.equal(stored?.tokenExpiresAt, null);
      assert.deepEqual(stored?.other, { keep: true, project: "p" });

      // A refresh and a concurrent merge keep each other's keys.
      await Promise.all([
        store.accounts.saveTokens(account.id, {
          accessToken: "access-3",
          tokenExpiresAt: null,
          otherPatch: { region: "r" },
          refreshedAt: "2026-01-01T00:00:03Z",
        }),
        store.accounts.patchOther(account.id, { quota: 1 }),
      ]);
      stored = await store.accounts.get(account.id);
      assert.equal(stored?.accessToken, "access-3");
      assert.equal(stored?.refreshToken, "refresh-2");
      assert.deepEqual(stored?.other, { keep: true, project: "p", region: "r", quota: 1 });
      // A missing account is a no-op.
      await store.accounts.saveTokens("missing", {
        accessToken: "x",
        tokenExpiresAt: 1,
        otherPatch: { a: 1 },
        refreshedAt: "r",
      });
    },
  );

  testStore(
    "accounts create, list (filters, newest first), update, count and delete",
    async (store, clock) => {
      const q = await store.accounts.create({
        type: "amazonq",
        label: "Q",
        clientId: "c".repeat(2000),
        clientSecret: "s",
        tokenExpiresAt: 2 ** 45,
        weight: 7,
        rate_limit_per_hour: 30,
        max_inflight: 2,
      });
      assert.equal(q.label, "Q");
      assert.equal(q.clientId?.length, 2000);
      assert.equal(q.tokenExpiresAt, 2 ** 45);
      assert.equal(typeof q.tokenExpiresAt, "number");
      assert.equal(q.weight, 7);
      assert.equal(q.rate_limit_per_hour, 30);
      assert.equal(q.max_inflight, 2);
      assert.equal(q.enabled, true);
      assert.equal(q.created_at, new Date(clock.t).toISOString());
      clock.t += 1000;
      const g = await store.accounts.create({ type: "gemini", enabled: false, label: "✓ ünïcode 🚀" });
      assert.equal(g.enabled, false);
      assert.equal(g.weight, 50);
      assert.equal(g.rate_limit_per_hour, 0);
      assert.equal(g.label, "✓ ünïcode 🚀");
      assert.deepEqual(g.other, {});

      assert.deepEqual((await store.accounts.list()).map((a) => a.id), [g.id, q.id]);
      assert.deepEqual((await store.accounts.list({ type: "amazonq" })).map((a) => a.id), [q.id]);
      assert.deepEqual((await store.accounts.list({ enabled: false })).map((a) => a.id), [g.id]);
      assert.deepEqual(await store.accounts.list({ type: "custom_api" }), []);
      assert.deepEqual(await store.accounts.count(), { total: 2, enabled: 1 });

      clock.t += 1000;
      const updated = await store.accounts.update(q.id, {
        enabled: false,
        cooldown_until: clock.t + 5,
        parked_until: 2 ** 50,
        disabled_reason: "suspended",
        disabled_at: clock.t,
        last_error: "boom",
        other: { replaced: true },
        label: undefined,
      });
      assert.equal(updated?.enabled, false);
      assert.equal(updated?.cooldown_until, clock.t + 5);
      assert.equal(updated?.parked_until, 2 ** 50);
      assert.equal(updated?.disabled_reason, "suspended");
      assert.equal(updated?.last_error, "boom");
      assert.equal(updated?.label, "Q", "undefined leaves a field alone");
      assert.deepEqual(updated?.other, { replaced: true });
      assert.equal(updated?.updated_at, new Date(clock.t).toISOString());
      const cleared = await store.accounts.update(q.id, { cooldown_until: null, label: null, enabled: true });
      assert.equal(cleared?.cooldown_until, null);
      assert.equal(cleared?.label, null);
      assert.equal(cleared?.enabled, true);
      assert.equal(await store.accounts.update("missing", { label: "x" }), null);
      // An empty patch changes nothing, not even updated_at.
      clock.t += 1000;
      assert.equal((await store.accounts.update(q.id, {}))?.updated_at, cleared?.updated_at);

      assert.equal(await store.accounts.delete(g.id), true);
      assert.equal(await store.accounts.delete(g.id), false);
      assert.deepEqual(await store.accounts.count(), { total: 1, enabled: 1 });
    },
  );

  testStore(
    "call records count per account and window, feed stats, and touch last_used_at",
    async (store) => {
      const now = 10_000_000_000;
      const a = await store.accounts.create({ type: "amazonq" });
      const b = await store.accounts.create({ type: "gemini" });
      await store.accounts.recordCall(a.id, "success", null, now - 100);
      await store.accounts.recordCall(a.id, "failure", "throttled", now - 3_600_001);
      await store.accounts.recordCall(a.id, "failure", "throttled", now - 7_200_000);
      await store.accounts.recordCall(a.id, "failure", null, now - 90_000_000);
      await store.accounts.recordCall(b.id, "success", null, now - 10);
      assert.equal((await store.accounts.get(b.id))?.last_used_at, now - 10);

      assert.equal(await store.accounts.countCallsSince(a.id, now - 3_600_000), 1);
      assert.equal(await store.accounts.countCallsSince(a.id, 0), 4);
      assert.equal(await store.accounts.countCallsSince("missing", 0), 0);
      const all = await store.accounts.countAllCallsSince(now - 86_400_000);
      assert.deepEqual([...all.entries()].sort(), [[a.id, 3], [b.id, 1]].sort());
      assert.equal((await store.accounts.countAllCallsSince(now + 1)).size, 0);

      assert.deepEqual(await store.accounts.stats(a.id, now), {
        account_id: a.id,
        calls_last_hour: 1,
        calls_last_day: 3,
        total_calls: 4,
        successes: 1,
        failures: 3,
        failures_by_class: { throttled: 2, unknown: 1 },
      });
      assert.deepEqual(await store.accounts.stats("missing", now), {
        account_id: "missing",
        calls_last_hour: 0,
        calls_last_day: 0,
        total_calls: 0,
        successes: 0,
        failures: 0,
        failures_by_class: {},
      });
      // The call log has a foreign key, as in SQLite: no calls for accounts that do not exist.
      await assert.rejects(store.accounts.recordCall("missing", "success", null, now));
    },
  );

  testStore("deleting an account removes its call log (foreign key cascade)", async (store) => {
    const account = await store.accounts.create({ type: "amazonq" });
    await store.accounts.recordCall(account.id, "success", null, 5);
    assert.equal(await store.accounts.countCallsSince(account.id, 0), 1);
    assert.equal(await store.accounts.delete(account.id), true);
    assert.equal(await store.accounts.countCallsSince(account.id, 0), 0);
    assert.equal(await store.accounts.delete(account.id), false);
  });

  testStore("pruneCalls drops call records older than the cut-off and keeps the rest", async (store) => {
    const a = await store.accounts.create({ type: "custom_api", clientSecret: "k" });
    await store.accounts.recordCall(a.id, "success", null, 1_000);
    await store.accounts.recordCall(a.id, "failure", "throttled", 5_000);
    assert.equal(await store.accounts.pruneCalls(2_000), 1);
    assert.equal(await store.accounts.countCallsSince(a.id, 0), 1);
    assert.equal(await store.accounts.pruneCalls(2_000), 0);
  });

  testStore("a lease has one holder until it expires; then another takes it over", async (store) => {
    const t0 = 1_000_000;
    assert.equal(await store.leases.acquire("refresh", "h1", t0, 10_000), true);
    assert.equal(await store.leases.acquire("refresh", "h2", t0 + 1, 10_000), false);
    // The holder renews, also with an unchanged expiry (MySQL then reports no changed row).
    assert.equal(await store.leases.acquire("refresh", "h1", t0 + 5_000, 10_000), true);
    assert.equal(await store.leases.acquire("refresh", "h1", t0 + 5_000, 10_000), true);
    assert.equal(await store.leases.acquire("refresh", "h2", t0 + 14_999, 10_000), false);
    // Other names are independent.
    assert.equal(await store.leases.acquire("other", "h2", t0, 10_000), true);
    // Expired: taken over, and the old holder is now out.
    assert.equal(await store.leases.acquire("refresh", "h2", t0 + 15_000, 10_000), true);
    assert.equal(await store.leases.acquire("refresh", "h1", t0 + 15_001, 10_000), false);
    // A refused attempt did not move the expiry: h2's lease still ends at t0 + 25_000.
    assert.equal(await store.leases.acquire("refresh", "h1", t0 + 24_999, 10_000), false);
    assert.equal(await store.leases.acquire("refresh", "h1", t0 + 25_000, 10_000), true);
    // Releasing someone else's lease does nothing; releasing your own frees it.
    await store.leases.release("refresh", "h2");
    assert.equal(await store.leases.acquire("refresh", "h3", t0 + 25_002, 10_000), false);
    await store.leases.release("refresh", "h1");
    assert.equal(await store.leases.acquire("refresh", "h3", t0 + 25_003, 10_000), true);
  });

  testStore("admins.createFirst creates one admin only", async (store) => {
    assert.equal(await store.admins.count(), 0);
    const results = await Promise.all([
      store.admins.createFirst({ id: "a1", username: "alice", password_hash: "scrypt$x" }),
      store.admins.createFirst({ id: "a2", username: "bobby", password_hash: "scrypt$y" }),
    ]);
    assert.equal(results.filter(Boolean).length, 1);
    const [winner, loser] = results[0] ? ["alice", "bobby"] : ["bobby", "alice"];
    assert.equal(
      await store.admins.createFirst({ id: "a3", username: "carol", password_hash: "scrypt$z" }),
      false,
    );
    assert.equal(await store.admins.count(), 1);
    const admin = await store.admins.findByUsername(winner);
    assert.ok(admin);
    assert.equal(await store.admins.findByUsername(loser), null);
    assert.equal(await store.admins.findByUsername(winner.toUpperCase()), null, "usernames are exact");
    assert.deepEqual(await store.admins.get(admin.id), admin);
    assert.equal(await store.admins.get("a3"), null);
  });

  testStore("sessions, login attempts, meta and client keys round-trip", async (store, clock) => {
    await store.admins.createFirst({ id: "a1", username: "alice", password_hash: "scrypt$x" });
    await store.sessions.create({ token_hash: "h1", admin_id: "a1", created_at: 1, expires_at: 100 });
    await store.sessions.create({ token_hash: "h2", admin_id: "a1", created_at: 1, expires_at: 300 });
    await store.sessions.create({ token_hash: "h3", admin_id: "a1", created_at: 1, expires_at: 2 ** 50 });
    assert.deepEqual(await store.sessions.get("h1"), {
      token_hash: "h1",
      admin_id: "a1",
      created_at: 1,
      expires_at: 100,
    });
    assert.equal((await store.sessions.get("h3"))?.expires_at, 2 ** 50);
    assert.equal(await store.sessions.deleteExpired(200), 1);
    assert.equal(await store.sessions.get("h1"), null);
    assert.ok(await store.sessions.get("h2"));
    await store.sessions.delete("h2");
    assert.equal(await store.sessions.get("h2"), null);
    await store.sessions.delete("h2");
    await assert.rejects(
      store.sessions.create({ token_hash: "h4", admin_id: "nobody", created_at: 1, expires_at: 2 }),
    );

    const attempts = { key: "1.2.3.4", failures: 2, window_start: 10, window_count: 3, locked_until: null };
    await store.loginAttempts.put(attempts);
    assert.deepEqual(await store.loginAttempts.get("1.2.3.4"), attempts);
    await store.loginAttempts.put({ ...attempts, locked_until: 999 });
    assert.equal((await store.loginAttempts.get("1.2.3.4"))?.locked_until, 999);
    await store.loginAttempts.clear("1.2.3.4");
    assert.equal(await store.loginAttempts.get("1.2.3.4"), null);

    assert.equal(await store.meta.get("k"), null);
    assert.equal(await store.meta.setIfMissing("k", "first"), "first");
    assert.equal(await store.meta.setIfMissing("k", "second"), "first");
    assert.equal(await store.meta.get("k"), "first");
    assert.equal(await store.meta.setIfMissing("K", "other case"), "other case", "keys are exact");

    const key = await store.clientKeys.create("k1", "digest-1", "sk-amq-abc", "label");
    assert.deepEqual(key, {
      id: "k1",
      label: "label",
      prefix: "sk-amq-abc",
      created_at: new Date(clock.t).toISOString(),
      last_used_at: null,
    });
    clock.t += 1;
    await store.clientKeys.create("k2", "digest-2", "sk-amq-def", null);
    assert.equal(await store.clientKeys.count(), 2);
    assert.equal((await store.clientKeys.findByHash("digest-1"))?.id, "k1");
    const listed = await store.clientKeys.list();
    assert.deepEqual(listed.map((k) => k.id), ["k1", "k2"]);
    assert.ok(listed[0]?.last_used_at, "a lookup marks the key used");
    assert.equal(listed[1]?.label, null);
    assert.equal(await store.clientKeys.findByHash("sk-amq-abc"), null);
    assert.equal(await store.clientKeys.findByHash("DIGEST-1"), null, "digests compare exactly");
    await assert.rejects(store.clientKeys.create("k3", "digest-1", "p", null), "a digest is unique");
    assert.equal(await store.clientKeys.delete("k1"), true);
    assert.equal(await store.clientKeys.delete("k1"), false);
    assert.equal(await store.clientKeys.count(), 1);
  });

  testStore("config getAll, putMany (one transaction) and seed (never overwrites)", async (store) => {
    assert.deepEqual(await store.config.getAll(), {});
    await store.config.seed({ enable_model_mapping: true, supported_models: ["a"], model_mapping: {} });
    await store.config.putMany({ enable_model_mapping: false, model_mapping: { x: "y" }, note: "text" });
    await store.config.seed({ enable_model_mapping: true, model_mapping: {}, added: 1 });
    await store.config.seed({});
    await store.config.putMany({});
    assert.deepEqual(await store.config.getAll(), {
      enable_model_mapping: false,
      supported_models: ["a"],
      model_mapping: { x: "y" },
      note: "text",
      added: 1,
    });
    // A failing entry rolls the whole batch back (a value that is not JSON; on MySQL a key too long).
    await assert.rejects(store.config.putMany({ note: "changed", bad: 1n }));
    assert.equal((await store.config.getAll()).note, "text");
    if (harness.enforcesColumnLengths) {
      await assert.rejects(store.config.putMany({ note: "changed", ["k".repeat(300)]: 1 }));
      assert.equal((await store.config.getAll()).note, "text");
    }
  });

  testStore("usage records, summary by model with filters, and recent newest first", async (store) => {
    const base = {
      channel: "amazonq",
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    await store.usage.record({
      ...base,
      account_id: "a",
      model: "m1",
      input_tokens: 10,
      output_tokens: 1,
      created_at: 100,
    });
    await store.usage.record({
      ...base,
      account_id: "b",
      model: "m2",
      input_tokens: 100,
      output_tokens: 5,
      cache_read_input_tokens: 7,
      created_at: 200,
    });
    await store.usage.record({
      ...base,
      account_id: null,
      model: "m1",
      input_tokens: 3,
      output_tokens: 2,
      cache_creation_input_tokens: 4,
      created_at: 300,
    });
    assert.deepEqual(await store.usage.summary(0), [
      {
        model: "m2",
        request_count: 1,
        input_tokens: 100,
        output_tokens: 5,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 7,
        cost_usd: 0,
        unpriced_requests: 0,
        error_count: 0,
        cache_hits: 1,
        cache_misses: 0,
      },
      {
        model: "m1",
        request_count: 2,
        input_tokens: 13,
        output_tokens: 3,
        cache_creation_input_tokens: 4,
        cache_read_input_tokens: 0,
        cost_usd: 0,
        unpriced_requests: 0,
        error_count: 0,
        cache_hits: 0,
        cache_misses: 1,
      },
    ]);
    assert.deepEqual((await store.usage.summary(150)).map((r) => [r.model, r.request_count]), [
      ["m2", 1],
      ["m1", 1],
    ]);
    assert.deepEqual((await store.usage.summary(0, { accountId: "a" })).map((r) => r.input_tokens), [10]);
    assert.deepEqual((await store.usage.summary(0, { model: "m1" })).map((r) => r.request_count), [2]);
    assert.deepEqual(await store.usage.summary(1_000), []);

    const recent = await store.usage.recent(2);
    assert.equal(recent.length, 2);
    assert.equal(recent[0]!.created_at, 300);
    assert.equal(recent[0]!.account_id, null);
    assert.equal(recent[1]!.model, "m2");
    assert.ok(recent[0]!.id > recent[1]!.id);
    assert.equal(typeof recent[0]!.id, "number");
    assert.equal((await store.usage.recent(10)).length, 3);
  });

  testStore(
    "usage: every account's requests and results of the last hour, day and today, in one read",
    async (store) => {
      const H = 3_600_000;
      const now = 1_750_000_000_000;
      const todayStart = now - 5 * H;
      const rec = (account_id: string | null, agoMs: number, outcome: string) =>
        store.usage.record({
          account_id,
          model: "m",
          channel: "amazonq",
          input_tokens: 1,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          created_at: now - agoMs,
          outcome,
        });
      // a: in the last hour one success, one throttled and one the client hung up on; earlier today a
      // success; yesterday (within 24 h, before today) a transient failure; older than a day: not counted.
      await rec("a", 10 * 60_000, "success");
      await rec("a", 20 * 60_000, "throttled");
      await rec("a", 30 * 60_000, "client_closed");
      await rec("a", 3 * H, "success");
      await rec("a", 10 * H, "transient");
      await rec("a", 25 * H, "success");
      // b: only yesterday; c: only older than a day; null: failed before any account was chosen.
      await rec("b", 20 * H, "success");
      await rec("c", 30 * H, "success");
      await rec(null, 60_000, "overloaded_error");
      // A record written after `now` (another instance's clock) is not in the window either.
      await rec("b", -60_000, "success");
      assert.deepEqual(await store.usage.accountActivity(now, todayStart), [
        {
          account_id: "a",
          hour: { requests: 3, successes: 1, failures: 1 },
          day: { requests: 5, successes: 2, failures: 2 },
          today_requests: 4,
          last_failure_at: now - 20 * 60_000,
        },
        {
          account_id: "b",
          hour: { requests: 0, successes: 0, failures: 0 },
          day: { requests: 1, successes: 1, failures: 0 },
          today_requests: 0,
          last_failure_at: null,
        },
      ]);
      // "Today" is clamped to the last day: a start further back counts no more than the day does.
      const clamped = await store.usage.accountActivity(now, now - 48 * H);
      assert.deepEqual(clamped.map((a) => [a.account_id, a.today_requests]), [["a", 5], ["b", 1]]);
      assert.deepEqual(await store.usage.accountActivity(now + 48 * H, now + 47 * H), []);
    },
  );

  testStore(
    "usage: rollup into hourly aggregates, series over both, retention with an injected clock",
    async (store) => {
      const H = 3_600_000;
      const t0 = Date.UTC(2026, 0, 1);
      const rec = (at: number, extra: Partial<Parameters<Store["usage"]["record"]>[0]> = {}) =>
        store.usage.record({
          account_id: "acc1",
          model: "claude-sonnet-4-5",
          channel: "amazonq",
          input_tokens: 100,
          output_tokens: 10,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          created_at: at,
          key_id: "k1",
          cost_usd: 0.5,
          cost_status: "priced",
          outcome: "success",
          ttfb_ms: 100,
          ...extra,
        });
      await rec(t0 + 10);
      await rec(t0 + 20, { ttfb_ms: 300, key_id: "k2", cache_read_input_tokens: 50 });
      await rec(t0 + H + 5, {
        outcome: "throttled",
        output_tokens: 0,
        ttfb_ms: null,
        cost_usd: null,
        cost_status: "unpriced",
      });
      await rec(t0 + 3 * H + 5);
      const before = await store.usage.series({ bucket: "hour", from: t0, to: t0 + 4 * H });
      // Rolled up to the start of hour 3: hours 0..2 come from the aggregates, hour 3 from raw records.
      assert.equal(await store.usage.rollup(t0 + 3 * H + 30 * 60_000), 3);
      assert.equal(await store.usage.rollup(t0 + 3 * H + 30 * 60_000), 2, "recomputes the last hours again");
      const after = await store.usage.series({ bucket: "hour", from: t0, to: t0 + 4 * H });
      // Percentiles are exact over raw records; across aggregate rows they are averaged by request count.
      const counts = (rows: typeof after) =>
        rows.map(({ ttfb_p50_ms: _a, ttfb_p95_ms: _b, ...rest }) => rest);
      assert.deepEqual(counts(after), counts(before));
      assert.deepEqual([before[0]!.ttfb_p50_ms, before[0]!.ttfb_p95_ms], [100, 300]);
      assert.deepEqual([after[0]!.ttfb_p50_ms, after[0]!.ttfb_p95_ms], [200, 200]);
      assert.deepEqual(after.map((r) => [r.t - t0, r.requests, r.errors]), [
        [0, 2, {}],
        [H, 1, { throttled: 1 }],
        [3 * H, 1, {}],
      ]);
      assert.equal(after[0]!.cost_usd, 1);
      assert.equal(after[1]!.unpriced_requests, 1);
      const byKey = await store.usage.series({ bucket: "day", from: t0, to: t0 + 4 * H, groupBy: "key" });
      assert.deepEqual(byKey.map((r) => [r.group, r.requests]), [["k1", 3], ["k2", 1]]);
      const own = await store.usage.series({ bucket: "day", from: t0, to: t0 + 4 * H, keyId: "k2" });
      assert.deepEqual(own.map((r) => [r.requests, r.cache_read_input_tokens]), [[1, 50]]);
      const summary = await store.usage.summary(t0, { keyId: "k1" });
      assert.deepEqual(summary.map((r) => [r.request_count, r.error_count, r.cost_usd]), [[3, 1, 1]]);
      // Once the day is complete it is also rolled up whole; day buckets and summaries read it.
      const dayQuery = { bucket: "day" as const, from: t0, to: t0 + 48 * H, groupBy: "model" as const };
      const dayBefore = await store.usage.series(dayQuery);
      await store.usage.rollup(t0 + 24 * H + 10);
      const dayAfter = await store.usage.series(dayQuery);
      assert.deepEqual(counts(dayAfter), counts(dayBefore));
      assert.deepEqual(dayAfter.map((r) => [r.requests, r.errors]), [[4, { throttled: 1 }]]);
      assert.deepEqual(
        (await store.usage.summary(t0, { keyId: "k1" })).map((
          r,
        ) => [r.request_count, r.error_count, r.cost_usd]),
        [[3, 1, 1]],
      );
      // Retention: raw records of rolled-up hours go (not those of the hours a rollup still recomputes); the
      // aggregates still answer.
      const pruned = await store.usage.prune(t0 + 2 * H, t0 - H);
      assert.deepEqual(pruned, { raw: 3, hourly: 0 });
      assert.deepEqual(await store.usage.series({ bucket: "hour", from: t0, to: t0 + 4 * H }), after);
      assert.equal((await store.usage.recent(10)).length, 1);
      assert.deepEqual(await store.usage.prune(t0 + 2 * H, t0 + 2 * H), { raw: 0, hourly: 3 });
    },
  );

  testStore(
    "cache entries: one lookup, one upsert keeping the later expiry, prune with a cap",
    async (store) => {
      const e = (key: string, expiresAt: number) => ({
        key: key.padEnd(32, "0"),
        tokens: 2048,
        ttlMs: 300_000,
        expiresAt,
      });
      await store.cacheEntries.upsert([e("a", 1_000), e("b", 2_000)], 10);
      await store.cacheEntries.upsert([e("a", 500), e("c", 3_000)], 20);
      const found = await store.cacheEntries.lookup([e("a", 0).key, e("b", 0).key, e("z", 0).key], 100);
      assert.deepEqual(found.map((f) => [f.key[0], f.expiresAt]).sort(), [["a", 1_000], ["b", 2_000]]);
      assert.deepEqual(await store.cacheEntries.lookup([e("b", 0).key], 2_000), []);
      assert.deepEqual(await store.cacheEntries.stats(100), { entries: 3, evictions: 0 });
      // `b` is expired at 2500; of `a` and `c`, `a` was used last (20), `c` too (20): the cap keeps one.
      await store.cacheEntries.upsert([e("c", 3_000)], 30);
      assert.deepEqual(await store.cacheEntries.prune(1_500, 1), { expired: 1, evicted: 1 });
      assert.deepEqual(await store.cacheEntries.stats(1_500), { entries: 1, evictions: 1 });
      assert.equal((await store.cacheEntries.lookup([e("c", 0).key], 1_500)).length, 1);
    },
  );

  testStore("settings: stored JSON documents are replaced", async (store) => {
    assert.equal(await store.settings.get("pricing"), null);
    await store.settings.put("pricing", '{"a":1}');
    await store.settings.put("pricing", '{"a":2}');
    assert.equal(await store.settings.get("pricing"), '{"a":2}');
  });

  testStore(
    "oauthStates: single use, expired ones dropped on put, and a cap on how many may wait",
    async (store) => {
      assert.equal(await store.oauthStates.put("s1", '{"v":1}', 2_000, 1_000, 2), true);
      assert.equal(await store.oauthStates.put("s2", '{"v":2}', 1_500, 1_000, 2), true);
      // Full at 2 while both are alive.
      assert.equal(await store.oauthStates.put("s3", '{"v":3}', 3_000, 1_000, 2), false);
      // At t=1,600 s2 has expired and is dropped, so s3 fits.
      assert.equal(await store.oauthStates.put("s3", '{"v":3}', 3_000, 1_600, 2), true);
      assert.deepEqual(await store.oauthStates.take("s1"), { data: '{"v":1}', expiresAt: 2_000 });
      assert.equal(await store.oauthStates.take("s1"), null);
      assert.equal(await store.oauthStates.take("s2"), null);
    },
  );

  testStore(
    "client keys keep their rules; key windows add atomically within their limits, adjust, prune",
    async (store) => {
      await store.clientKeys.create("k1", "digest-1", "sk-amq-abc", "ci", {
        requests_per_minute: 2,
        allowed_models: ["claude-*"],
        cost_per_day_micros: 5_000_000,
      });
      const record = await store.clientKeys.get("k1");
      assert.equal(record?.requests_per_minute, 2);
      assert.deepEqual(record?.allowed_models, ["claude-*"]);
      assert.equal(record?.enabled, true);
      assert.equal(record?.tokens_per_day, null);
      const updated = await store.clientKeys.update("k1", {
        enabled: false,
        expires_at: 123,
        requests_per_minute: null,
      });
      assert.deepEqual([updated?.enabled, updated?.expires_at, updated?.requests_per_minute], [
        false,
        123,
        null,
      ]);
      assert.equal(await store.clientKeys.update("missing", { note: "x" }), null);

      const minute = { kind: "minute" as const, start: 60_000 };
      const day = { kind: "day" as const, start: 0 };
      const charge = (tokens: number) => [
        { ...minute, requests: 1, tokens: 0, cost_micros: 0, limits: { requests: 2 } },
        { ...day, requests: 1, tokens, cost_micros: 10, limits: { tokens: 100 } },
      ];
      const first = await store.keyWindows.charge("k1", charge(60));
      assert.equal(first.ok, true);
      assert.deepEqual(first.counts.map((c) => [c.kind, c.requests, c.tokens, c.cost_micros]), [
        ["minute", 1, 0, 0],
        ["day", 1, 60, 10],
      ]);
      const over = await store.keyWindows.charge("k1", charge(50));
      assert.deepEqual(over.ok ? null : over.refused, { kind: "day", counter: "tokens" });
      // Nothing of a refused charge stays, not even in the window that had room.
      assert.deepEqual(over.counts.map((c) => c.requests), [1, 1]);
      await store.keyWindows.adjust("k1", [day], -40, 5);
      const [afterAdjust] = await store.keyWindows.read("k1", [day]);
      assert.deepEqual([afterAdjust?.tokens, afterAdjust?.cost_micros], [20, 15]);
      assert.equal((await store.keyWindows.charge("k1", charge(50))).ok, true);
      const third = await store.keyWindows.charge("k1", charge(1));
      assert.deepEqual(third.ok ? null : third.refused, { kind: "minute", counter: "requests" });
      assert.equal(await store.keyWindows.prune("k1", { minute: 120_000, day: 0, month: 0 }), 1);
      assert.deepEqual((await store.keyWindows.read("k1", [minute, day])).map((c) => c.requests), [0, 2]);
      assert.equal(await store.clientKeys.delete("k1"), true);
      assert.deepEqual(
        (await store.keyWindows.read("k1", [day])).map((c) => c.requests),
        [0],
        "deleted with the key",
      );
    },
  );

  test("every write to a cached area bumps its counter, seen by another store on the database", async (open) => {
    const a = await open();
    const b = await open();
    const versions = async (store: Store) => ({
      accounts: await store.changes.version("accounts"),
      config: await store.changes.version("config"),
      client_keys: await store.changes.version("client_keys"),
    });
    const start = await versions(b);
    assert.deepEqual(start, await versions(a));

    const account = await a.accounts.create({ type: "amazonq" });
    await a.accounts.update(account.id, { weight: 3 });
    await a.accounts.patchOther(account.id, { x: 1 });
    await a.accounts.saveTokens(account.id, { accessToken: "t", tokenExpiresAt: null, refreshedAt: "r" });
    assert.deepEqual(await versions(b), { ...start, accounts: start.accounts + 4 });
    assert.equal(a.changes.localWrites("accounts"), 4);
    assert.equal(b.changes.localWrites("accounts"), 0, "only the writing store counts its own writes");

    // Bookkeeping that nothing caches does not count as a change.
    await a.accounts.recordCall(account.id, "success", null, 1);
    await a.accounts.update(account.id, {});
    assert.equal(await b.changes.version("accounts"), start.accounts + 4);

    await a.config.putMany({ model_mapping: { x: "y" } });
    await a.config.seed({ other: 1 });
    const key = await a.clientKeys.create("k1", "digest-1", "sk-amq-abc", null);
    assert.equal((await b.clientKeys.findByHash("digest-1"))?.id, key.id);
    await a.clientKeys.touch(key.id);
    assert.deepEqual(await versions(b), {
      accounts: start.accounts + 4,
      config: start.config + 2,
      client_keys: start.client_keys + 1,
    });
    assert.deepEqual(await b.clientKeys.listDigests(), [{ id: "k1", keyHash: "digest-1" }]);
    assert.equal(await b.clientKeys.delete("k1"), true);
    assert.equal(await a.changes.version("client_keys"), start.client_keys + 2);
    assert.equal(await a.accounts.delete(account.id), true);
    assert.equal(await b.changes.version("accounts"), start.accounts + 5);

    // A write that fails rolls its bump back too.
    await assert.rejects(a.config.putMany({ note: "x", bad: 1n }));
    assert.equal(await b.changes.version("config"), start.config + 2);
    assert.equal(a.changes.localWrites("config"), 2);
  });

  test("a cache sees its own store's writes at once and another store's once its staleness bound passed", async (open) => {
    const a = await open();
    const b = await open();
    const clock = { t: 0 };
    let loads = 0;
    const cache = new StoreCache(b.changes, "config", async () => {
      loads++;
      return await b.config.getAll();
    }, { stalenessMs: 1_000, clock: () => clock.t });
    assert.deepEqual(await cache.get(), {});
    assert.equal(loads, 1);
    // Concurrent readers share one load.
    await Promise.all([cache.get(), cache.get()]);
    assert.equal(loads, 1);

    // Another store's write: not seen before the bound (no read at all), seen right after it.
    await a.config.putMany({ note: "from a" });
    clock.t = 999;
    assert.deepEqual(await cache.get(), {});
    clock.t = 1_000;
    assert.deepEqual(await cache.get(), { note: "from a" });
    assert.equal(loads, 2);
    // Nothing changed: the check costs the counter read, not a reload.
    clock.t = 2_500;
    assert.deepEqual(await cache.get(), { note: "from a" });
    assert.equal(loads, 2);

    // Its own store's write is seen at once, without waiting for the bound.
    await b.config.putMany({ note: "from b" });
    assert.deepEqual(await cache.get(), { note: "from b" });
    assert.equal(loads, 3);
  });
}
