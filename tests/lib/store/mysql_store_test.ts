// The MySQL store against a real server: set MYSQL_TEST_URL=mysql://user:pass@127.0.0.1:3306/ (a user
// that may create and drop databases). Each test gets its own database `amq2api_test_<random>`, dropped at
// the end. Without the variable these tests are reported as ignored. Raw SQL here only builds fixtures
// (a reference database) and inspects the schema; the product keeps SQL in lib/store.
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { openStore } from "../../../lib/store/open_store.ts";
import { MYSQL_SCHEMA_VERSION } from "../../../lib/store/mysql_migrations.ts";
import { openMysqlStore } from "../../../lib/store/mysql_store.ts";
import type { Store } from "../../../lib/store/types.ts";

const BASE_URL = Deno.env.get("MYSQL_TEST_URL");
const ignore = !BASE_URL;

type Admin = mysql.Connection;

function databaseUrl(name: string): string {
  const url = new URL(BASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database for `fn` (created unless `create` is false), dropped afterwards whatever happens. */
async function withDatabase(
  fn: (url: string, admin: Admin, name: string) => Promise<void>,
  { create = true } = {},
): Promise<void> {
  const name = `amq2api_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = await mysql.createConnection({ uri: BASE_URL!, supportBigNumbers: true });
  try {
    if (create) {
      await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    }
    await fn(databaseUrl(name), admin, name);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
}

async function withStore(fn: (store: Store, clock: { t: number }) => Promise<void>): Promise<void> {
  await withDatabase(async (url) => {
    const clock = { t: Date.UTC(2026, 0, 1) };
    const store = await openMysqlStore(url, { now: () => clock.t });
    try {
      await fn(store, clock);
    } finally {
      await store.close();
    }
  });
}

async function rows(
  admin: Admin,
  sql: string,
  params: unknown[] = [],
): Promise<Array<Record<string, unknown>>> {
  const [result] = await admin.query(sql, params);
  return result as Array<Record<string, unknown>>;
}

async function tablesOf(admin: Admin, db: string): Promise<string[]> {
  const list = await rows(
    admin,
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    [db],
  );
  return list.map((r) => String(r.t)).sort();
}

Deno.test({
  name: "mysql: patchOther merges keys, removes null ones, and concurrent patches keep each other's keys",
  ignore,
  fn: () =>
    withStore(async (store) => {
      const account = await store.accounts.create({
        type: "gemini",
        other: { a: 1, b: 2, nested: { x: 1 } },
      });
      await store.accounts.patchOther(account.id, { b: 3, c: 4 });
      assert.deepEqual((await store.accounts.get(account.id))?.other, { a: 1, b: 3, c: 4, nested: { x: 1 } });
      await store.accounts.patchOther(account.id, { a: null, nested: { y: 2 } });
      assert.deepEqual((await store.accounts.get(account.id))?.other, { b: 3, c: 4, nested: { y: 2 } });
      // Many merges at once on separate pooled connections: the row lock serialises them.
      const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
      await Promise.all([
        ...keys.map((k) => store.accounts.patchOther(account.id, { [k]: true })),
        store.accounts.update(account.id, { label: "renamed" }),
      ]);
      const after = await store.accounts.get(account.id);
      assert.deepEqual(after?.other, {
        b: 3,
        c: 4,
        nested: { y: 2 },
        ...Object.fromEntries(keys.map((k) => [k, true])),
      });
      assert.equal(after?.label, "renamed");
      // Unknown ids are a no-op, not an error.
      await store.accounts.patchOther("missing", { a: 1 });
      assert.equal(await store.accounts.get("missing"), null);
    }),
});

Deno.test({
  name: "mysql: saveTokens keeps the refresh token unless a rotated one comes, and merges otherPatch",
  ignore,
  fn: () =>
    withStore(async (store, clock) => {
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

      await Promise.all([
        store.accounts.saveTokens(account.id, {
          accessToken: "access-2",
          refreshToken: "refresh-2",
          tokenExpiresAt: null,
          otherPatch: { project: "p" },
          refreshedAt: "2026-01-01T00:00:02Z",
        }),
        store.accounts.patchOther(account.id, { quota: 1 }),
      ]);
      stored = await store.accounts.get(account.id);
      assert.equal(stored?.accessToken, "access-2");
      assert.equal(stored?.refreshToken, "refresh-2");
      assert.equal(stored?.tokenExpiresAt, null);
      assert.deepEqual(stored?.other, { keep: true, project: "p", quota: 1 });
      // A missing account is a no-op.
      await store.accounts.saveTokens("missing", {
        accessToken: "x",
        tokenExpiresAt: 1,
        otherPatch: { a: 1 },
        refreshedAt: "r",
      });
    }),
});

Deno.test({
  name: "mysql: accounts create, list (filters, newest first), update, count and delete",
  ignore,
  fn: () =>
    withStore(async (store, clock) => {
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
    }),
});

Deno.test({
  name: "mysql: call records count per account and window, feed stats, and touch last_used_at",
  ignore,
  fn: () =>
    withStore(async (store) => {
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
    }),
});

Deno.test({
  name: "mysql: deleting an account removes its call log (foreign key cascade)",
  ignore,
  fn: () =>
    withStore(async (store) => {
      const account = await store.accounts.create({ type: "amazonq" });
      await store.accounts.recordCall(account.id, "success", null, 5);
      assert.equal(await store.accounts.countCallsSince(account.id, 0), 1);
      assert.equal(await store.accounts.delete(account.id), true);
      assert.equal(await store.accounts.countCallsSince(account.id, 0), 0);
      assert.equal(await store.accounts.delete(account.id), false);
    }),
});

Deno.test({
  name: "mysql: pruneCalls drops call records older than the cut-off and keeps the rest",
  ignore,
  fn: () =>
    withStore(async (store) => {
      const a = await store.accounts.create({ type: "custom_api", clientSecret: "k" });
      await store.accounts.recordCall(a.id, "success", null, 1_000);
      await store.accounts.recordCall(a.id, "failure", "throttled", 5_000);
      assert.equal(await store.accounts.pruneCalls(2_000), 1);
      assert.equal(await store.accounts.countCallsSince(a.id, 0), 1);
      assert.equal(await store.accounts.pruneCalls(2_000), 0);
    }),
});

Deno.test({
  name: "mysql: a lease has one holder until it expires; then another takes it over",
  ignore,
  fn: () =>
    withStore(async (store) => {
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
    }),
});

Deno.test({
  name: "mysql: admins.createFirst creates one admin only",
  ignore,
  fn: () =>
    withStore(async (store) => {
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
    }),
});

Deno.test({
  name: "mysql: sessions, login attempts, meta and client keys round-trip",
  ignore,
  fn: () =>
    withStore(async (store, clock) => {
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
    }),
});

Deno.test({
  name: "mysql: config getAll, putMany (one transaction) and seed (never overwrites)",
  ignore,
  fn: () =>
    withStore(async (store) => {
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
      // A failing entry rolls the whole batch back.
      await assert.rejects(store.config.putMany({ note: "changed", ["k".repeat(300)]: 1 }));
      assert.equal((await store.config.getAll()).note, "text");
    }),
});

Deno.test({
  name: "mysql: usage records, summary by model with filters, and recent newest first",
  ignore,
  fn: () =>
    withStore(async (store) => {
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
        },
        {
          model: "m1",
          request_count: 2,
          input_tokens: 13,
          output_tokens: 3,
          cache_creation_input_tokens: 4,
          cache_read_input_tokens: 0,
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
    }),
});

Deno.test({
  name: "mysql: schemaVersion, ping and close; a missing database is created",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, name) => {
      assert.deepEqual(await tablesOf(admin, name), []);
      const store = await openStore(url);
      assert.equal(store.kind, "mysql");
      assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
      assert.ok(MYSQL_SCHEMA_VERSION >= 2);
      await store.ping();
      await store.close();
      await store.close();
      await assert.rejects(store.ping());
      assert.deepEqual(await tablesOf(admin, name), [
        "amq2api_account_calls",
        "amq2api_accounts",
        "amq2api_admin_session_tokens",
        "amq2api_admin_users",
        "amq2api_client_keys",
        "amq2api_config",
        "amq2api_leases",
        "amq2api_login_attempts",
        "amq2api_meta",
        "amq2api_oauth_states",
        "amq2api_schema_version",
        "amq2api_usage_records",
      ]);
      const engines = await rows(
        admin,
        "SELECT DISTINCT ENGINE AS e, TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
        [name],
      );
      assert.deepEqual(engines, [{ e: "InnoDB", c: "utf8mb4_bin" }]);
      assert.deepEqual(await rows(admin, `SELECT * FROM ${name}.amq2api_schema_version`), [
        { id: 1, version: MYSQL_SCHEMA_VERSION },
      ]);
    }, { create: false }),
});

Deno.test({
  name: "mysql: two stores migrating at once both open, over one set of tables",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, name) => {
      const stores = await Promise.all([openMysqlStore(url), openMysqlStore(url), openMysqlStore(url)]);
      try {
        for (const store of stores) assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
        assert.equal((await tablesOf(admin, name)).length, 12);
        assert.deepEqual(await rows(admin, `SELECT version FROM ${name}.amq2api_schema_version`), [
          { version: MYSQL_SCHEMA_VERSION },
        ]);
        // Each sees the others' writes.
        const created = await stores[0]!.accounts.create({ type: "amazonq", label: "shared" });
        assert.equal((await stores[1]!.accounts.get(created.id))?.label, "shared");
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    }),
});

Deno.test({
  name: "mysql: two store instances contending for a lease: exactly one holds it per round",
  ignore,
  fn: () =>
    withDatabase(async (url) => {
      const [s1, s2] = await Promise.all([openMysqlStore(url), openMysqlStore(url)]);
      try {
        for (let round = 0; round < 15; round++) {
          const name = `job-${round}`;
          const results = await Promise.all([
            s1.leases.acquire(name, "instance-1", 1_000, 60_000),
            s2.leases.acquire(name, "instance-2", 1_000, 60_000),
            s1.leases.acquire(name, "instance-3", 1_000, 60_000),
            s2.leases.acquire(name, "instance-4", 1_000, 60_000),
          ]);
          assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
        }
        // After expiry, a race for the same lease again has one winner.
        const results = await Promise.all([
          s1.leases.acquire("job-0", "instance-5", 61_000, 60_000),
          s2.leases.acquire("job-0", "instance-6", 61_000, 60_000),
        ]);
        assert.equal(results.filter(Boolean).length, 1);
      } finally {
        await Promise.all([s1.close(), s2.close()]);
      }
    }),
});

Deno.test({
  name: "mysql: createFirst racing from two store instances creates exactly one admin",
  ignore,
  fn: () =>
    withDatabase(async (url) => {
      const [s1, s2] = await Promise.all([openMysqlStore(url), openMysqlStore(url)]);
      try {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            (i % 2 ? s2 : s1).admins.createFirst({
              id: `a${i}`,
              username: `admin${i}`,
              password_hash: "scrypt$h",
            })),
        );
        assert.equal(results.filter(Boolean).length, 1, String(results));
        assert.equal(await s1.admins.count(), 1);
        assert.equal(await s2.admins.count(), 1);
      } finally {
        await Promise.all([s1.close(), s2.close()]);
      }
    }),
});

/** The reference implementation's MySQL schema (`platform.md` §3.1), before `weight`/`rate_limit_per_hour`. */
async function writeReferenceDatabase(admin: Admin, db: string): Promise<void> {
  const statements = [
    `CREATE TABLE ${db}.amq2api_accounts (
      id VARCHAR(36) PRIMARY KEY, label VARCHAR(255), clientId VARCHAR(255), clientSecret TEXT,
      refreshToken TEXT, accessToken TEXT, other LONGTEXT, last_refresh_time VARCHAR(32),
      last_refresh_status VARCHAR(32), created_at VARCHAR(32), updated_at VARCHAR(32), enabled TINYINT DEFAULT 1,
      type VARCHAR(32) DEFAULT 'amazonq'
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_call_logs (
      id INT AUTO_INCREMENT PRIMARY KEY, account_id VARCHAR(36) NOT NULL, timestamp VARCHAR(32) NOT NULL,
      model VARCHAR(255), INDEX idx_account_timestamp (account_id, timestamp),
      FOREIGN KEY (account_id) REFERENCES ${db}.amq2api_accounts(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_config (\`key\` VARCHAR(128) PRIMARY KEY, value LONGTEXT, updated_at VARCHAR(32))
      ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_admin_users (
      id VARCHAR(36) PRIMARY KEY, username VARCHAR(50) UNIQUE NOT NULL, password_hash VARCHAR(255) NOT NULL,
      created_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_admin_sessions (
      token VARCHAR(64) PRIMARY KEY, admin_id VARCHAR(36) NOT NULL, user_agent TEXT,
      created_at VARCHAR(32) NOT NULL, expires_at VARCHAR(32) NOT NULL, last_activity VARCHAR(32) NOT NULL,
      INDEX idx_expires_at (expires_at),
      FOREIGN KEY (admin_id) REFERENCES ${db}.amq2api_admin_users(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    `CREATE TABLE ${db}.amq2api_usage (
      id VARCHAR(36) PRIMARY KEY, account_id VARCHAR(36), model VARCHAR(64), input_tokens INT DEFAULT 0,
      output_tokens INT DEFAULT 0, total_tokens INT DEFAULT 0, cache_creation_input_tokens INT DEFAULT 0,
      cache_read_input_tokens INT DEFAULT 0, channel VARCHAR(32) DEFAULT 'amazonq',
      created_at DATETIME DEFAULT CURRENT_TIMESTAMP
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  ];
  for (const sql of statements) await admin.query(sql);
  const insert =
    `INSERT INTO ${db}.amq2api_accounts (id, label, clientId, clientSecret, refreshToken, accessToken,
    other, last_refresh_time, last_refresh_status, created_at, updated_at, enabled, type)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  await admin.query(insert, [
    "acc-q",
    "Q ref",
    "cid",
    "csecret",
    "rtoken",
    "atoken",
    null,
    "2025-06-01T10:00:00",
    "success",
    "2025-01-01T00:00:00",
    "2025-06-01T10:00:00",
    1,
    "amazonq",
  ]);
  await admin.query(insert, [
    "acc-g",
    "G ref",
    "gcid",
    "gsecret",
    "grefresh",
    null,
    JSON.stringify({ project: "proj-1", creditsInfo: { models: {} } }),
    null,
    null,
    "2025-02-01T00:00:00",
    "2025-02-01T00:00:00",
    0,
    "gemini",
  ]);
  await admin.query(
    `INSERT INTO ${db}.amq2api_accounts (id, label, other) VALUES ('acc-old', 'old', 'not json')`,
  );
  await admin.query(
    `INSERT INTO ${db}.amq2api_call_logs (account_id, timestamp, model) VALUES ('acc-q', '2025-06-01T10:00:00', 'm')`,
  );
  for (
    const [key, value] of [
      ["enable_model_mapping", "false"],
      ["supported_models", JSON.stringify(["gemini-2.5-pro"])],
      // The reference stored strings raw, so this value is not JSON.
      ["motd", "hello from the reference"],
    ]
  ) {
    await admin.query(
      `INSERT INTO ${db}.amq2api_config (\`key\`, value, updated_at) VALUES (?, ?, '2025-01-01T00:00:00')`,
      [key, value],
    );
  }
  await admin.query(
    `INSERT INTO ${db}.amq2api_admin_users VALUES ('adm', 'admin', '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRS', 'x', 'x')`,
  );
  await admin.query(
    `INSERT INTO ${db}.amq2api_admin_sessions VALUES ('${"t".repeat(64)}', 'adm', NULL, 'x', 'x', 'x')`,
  );
  await admin.query(
    `INSERT INTO ${db}.amq2api_usage (id, account_id, model, input_tokens) VALUES ('u1', 'acc-q', 'm', 5)`,
  );
}

Deno.test({
  name:
    "mysql: a reference database is upgraded in place: rows kept, new columns with defaults, reopening is a no-op",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, db) => {
      await writeReferenceDatabase(admin, db);
      const store = await openMysqlStore(url);
      try {
        assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
        const q = await store.accounts.get("acc-q");
        assert.ok(q);
        assert.equal(q.label, "Q ref");
        assert.equal(q.type, "amazonq");
        assert.equal(q.clientId, "cid");
        assert.equal(q.clientSecret, "csecret");
        assert.equal(q.refreshToken, "rtoken");
        assert.equal(q.accessToken, "atoken");
        assert.deepEqual(q.other, {});
        assert.equal(q.enabled, true);
        assert.equal(q.last_refresh_status, "success");
        assert.equal(q.last_refresh_time, "2025-06-01T10:00:00");
        assert.equal(q.max_inflight, 0);
        assert.equal(q.disabled_reason, null);
        assert.equal(q.cooldown_until, null);
        assert.equal(q.tokenExpiresAt, null);

        const g = await store.accounts.get("acc-g");
        assert.ok(g);
        assert.equal(g.type, "gemini");
        assert.equal(g.enabled, false);
        assert.deepEqual(g.other, { project: "proj-1", creditsInfo: { models: {} } });
        assert.equal(g.last_refresh_status, "never", "NULL status becomes 'never'");

        const old = await store.accounts.get("acc-old");
        assert.ok(old);
        assert.equal(old.type, "amazonq");
        assert.equal(old.weight, 50, "the added column's default applies to existing rows");
        assert.equal(old.rate_limit_per_hour, 20);
        // Its bad JSON is read as marked, not as an error that would break every list.
        assert.deepEqual(old.other, { unreadable_other: "not valid JSON" });

        assert.deepEqual(await store.accounts.count(), { total: 3, enabled: 2 });

        const config = await store.config.getAll();
        assert.equal(config.enable_model_mapping, false);
        assert.deepEqual(config.supported_models, ["gemini-2.5-pro"]);
        assert.equal(config.motd, "hello from the reference");

        // The reference admin's bcrypt hash cannot be verified: it is dropped so setup is possible again.
        assert.equal(await store.admins.count(), 0);
        assert.equal(
          await store.admins.createFirst({ id: "new", username: "admin", password_hash: "scrypt$x" }),
          true,
        );

        // The new tables work on the upgraded database, including foreign keys to the reference tables.
        await store.accounts.recordCall("acc-q", "success", null, Date.now());
        assert.equal(await store.accounts.countCallsSince("acc-q", 0), 1);
        await store.sessions.create({ token_hash: "s", admin_id: "new", created_at: 1, expires_at: 2 });
        await store.accounts.update("acc-g", {
          enabled: true,
          cooldown_until: 123,
          clientId: "x".repeat(2000),
        });
        assert.equal((await store.accounts.get("acc-g"))?.cooldown_until, 123);
        assert.equal((await store.accounts.get("acc-g"))?.clientId?.length, 2000);
      } finally {
        await store.close();
      }

      const columns = new Set(
        (await rows(
          admin,
          "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'amq2api_accounts'",
          [db],
        )).map((r) => String(r.c)),
      );
      for (
        const name of [
          "type",
          "weight",
          "rate_limit_per_hour",
          "token_expires_at",
          "max_inflight",
          "disabled_reason",
          "cooldown_until",
          "parked_until",
        ]
      ) {
        assert.ok(columns.has(name), `amq2api_accounts.${name} exists`);
      }
      // The reference's own tables are left alone, its sessions went with its admin.
      assert.deepEqual(await rows(admin, `SELECT COUNT(*) AS n FROM ${db}.amq2api_usage`), [{ n: 1 }]);
      assert.deepEqual(await rows(admin, `SELECT COUNT(*) AS n FROM ${db}.amq2api_call_logs`), [{ n: 1 }]);
      assert.deepEqual(await rows(admin, `SELECT COUNT(*) AS n FROM ${db}.amq2api_admin_sessions`), [{
        n: 0,
      }]);

      // Reopening migrates nothing and changes nothing.
      const before = await rows(admin, `SELECT * FROM ${db}.amq2api_accounts ORDER BY id`);
      const again = await openMysqlStore(url);
      try {
        assert.equal(await again.schemaVersion(), MYSQL_SCHEMA_VERSION);
        assert.equal((await again.accounts.count()).total, 3);
      } finally {
        await again.close();
      }
      assert.deepEqual(await rows(admin, `SELECT * FROM ${db}.amq2api_accounts ORDER BY id`), before);
    }),
});

Deno.test({
  name: "mysql: a database at version 1 is upgraded to the latest version",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, db) => {
      await admin.query(
        `CREATE TABLE ${db}.amq2api_schema_version (id TINYINT NOT NULL PRIMARY KEY, version INT NOT NULL)`,
      );
      await admin.query(`INSERT INTO ${db}.amq2api_schema_version VALUES (1, 1)`);
      await admin.query(
        `CREATE TABLE ${db}.amq2api_accounts (id VARCHAR(36) PRIMARY KEY, label VARCHAR(255), clientId VARCHAR(255),
          clientSecret TEXT, refreshToken TEXT, accessToken TEXT, other LONGTEXT, last_refresh_time VARCHAR(32),
          last_refresh_status VARCHAR(32), created_at VARCHAR(32), updated_at VARCHAR(32), enabled TINYINT DEFAULT 1)
          ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
      await admin.query(
        `CREATE TABLE ${db}.amq2api_config (\`key\` VARCHAR(128) PRIMARY KEY, value LONGTEXT, updated_at VARCHAR(32))`,
      );
      await admin.query(
        `INSERT INTO ${db}.amq2api_accounts (id, label, clientSecret, other, created_at) VALUES ('a1', 'one', 's', '{"x":1}', '2025-01-01')`,
      );
      await admin.query(
        `INSERT INTO ${db}.amq2api_config (\`key\`, value) VALUES ('enable_model_mapping', 'true')`,
      );
      const store = await openMysqlStore(url);
      try {
        assert.equal(await store.schemaVersion(), MYSQL_SCHEMA_VERSION);
        const account = await store.accounts.get("a1");
        assert.equal(account?.label, "one");
        assert.equal(account?.type, "amazonq");
        assert.equal(account?.weight, 50);
        assert.equal(account?.rate_limit_per_hour, 20);
        assert.deepEqual(account?.other, { x: 1 });
        assert.equal(account?.last_refresh_status, "never");
        assert.equal(await store.admins.count(), 0);
        assert.equal(await store.clientKeys.count(), 0);
        assert.equal((await store.config.getAll()).enable_model_mapping, true);
      } finally {
        await store.close();
      }
    }),
});

Deno.test({
  name: "mysql: a database newer than this server is refused with a clear error and left untouched",
  ignore,
  fn: () =>
    withDatabase(async (url, admin, db) => {
      await admin.query(
        `CREATE TABLE ${db}.amq2api_schema_version (id TINYINT NOT NULL PRIMARY KEY, version INT NOT NULL)`,
      );
      await admin.query(`INSERT INTO ${db}.amq2api_schema_version VALUES (1, ${MYSQL_SCHEMA_VERSION + 5})`);
      await assert.rejects(openMysqlStore(url), (error: Error) => {
        assert.match(error.message, /newer than this server/);
        assert.ok(error.message.includes(String(MYSQL_SCHEMA_VERSION + 5)));
        return true;
      });
      assert.deepEqual(await tablesOf(admin, db), ["amq2api_schema_version"]);
    }),
});

Deno.test("mysql: an unreachable server or a bad URL is reported clearly, without the password", async () => {
  const password = "s3cret-Passw0rd";
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  await assert.rejects(openStore(`mysql://amq2api:${password}@127.0.0.1:1/amq2api`), (error: Error) => {
    assert.match(error.message, /^MySQL at 127\.0\.0\.1:1\/amq2api: /);
    assert.ok(!error.message.includes(password), error.message);
    return true;
  });
  await assert.rejects(openStore(`mysql://amq2api:${password}@127.0.0.1:3306/`), (error: Error) => {
    assert.equal(error.name, "ConfigError");
    assert.match(error.message, /must name a database/);
    assert.ok(!error.message.includes(password), error.message);
    return true;
  });
  await assert.rejects(openStore("postgres://x"), /sqlite:<path> or mysql:\/\//);
});

Deno.test({
  name: "mysql: oauthStates are single use across two store instances, expired ones dropped, capped",
  ignore,
  fn: () =>
    withDatabase(async (url) => {
      const a = await openMysqlStore(url);
      const b = await openMysqlStore(url);
      try {
        assert.equal(await a.oauthStates.put("s1", '{"v":1}', 2_000, 1_000, 2), true);
        assert.equal(await a.oauthStates.put("s2", '{"v":2}', 1_500, 1_000, 2), true);
        assert.equal(await b.oauthStates.put("s3", '{"v":3}', 3_000, 1_000, 2), false);
        assert.equal(await b.oauthStates.put("s3", '{"v":3}', 3_000, 1_600, 2), true);
        // Both instances race to complete one sign-in: exactly one gets it.
        const [x, y] = await Promise.all([a.oauthStates.take("s1"), b.oauthStates.take("s1")]);
        assert.equal([x, y].filter((r) => r !== null).length, 1);
        assert.deepEqual(x ?? y, { data: '{"v":1}', expiresAt: 2_000 });
        assert.equal(await a.oauthStates.take("s2"), null);
      } finally {
        await a.close();
        await b.close();
      }
    }),
});
