import assert from "node:assert/strict";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import type { Store } from "../../../lib/store/types.ts";

async function withStore(fn: (store: Store, clock: { t: number }) => Promise<void>): Promise<void> {
  const clock = { t: Date.UTC(2026, 0, 1) };
  const store = openSqliteStore(":memory:", { now: () => clock.t });
  try {
    await fn(store, clock);
  } finally {
    await store.close();
  }
}

Deno.test("patchOther merges keys, removes null ones, and concurrent patches keep each other's keys", async () => {
  await withStore(async (store) => {
    const account = await store.accounts.create({ type: "gemini", other: { a: 1, b: 2, nested: { x: 1 } } });
    await store.accounts.patchOther(account.id, { b: 3, c: 4 });
    assert.deepEqual((await store.accounts.get(account.id))?.other, { a: 1, b: 3, c: 4, nested: { x: 1 } });
    await store.accounts.patchOther(account.id, { a: null, nested: { y: 2 } });
    assert.deepEqual((await store.accounts.get(account.id))?.other, { b: 3, c: 4, nested: { y: 2 } });
    await Promise.all([
      store.accounts.patchOther(account.id, { quota: 1 }),
      store.accounts.patchOther(account.id, { suspended: true }),
      store.accounts.update(account.id, { label: "renamed" }),
    ]);
    const after = await store.accounts.get(account.id);
    assert.deepEqual(after?.other, { b: 3, c: 4, nested: { y: 2 }, quota: 1, suspended: true });
    assert.equal(after?.label, "renamed");
    // Unknown ids are a no-op, not an error.
    await store.accounts.patchOther("missing", { a: 1 });
    assert.equal(await store.accounts.get("missing"), null);
  });
});

Deno.test("saveTokens keeps the refresh token unless a rotated one comes, and merges otherPatch", async () => {
  await withStore(async (store, clock) => {
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
  });
});

Deno.test("a lease has one holder until it expires; then another takes it over", async () => {
  await withStore(async (store) => {
    const t0 = 1_000_000;
    assert.equal(await store.leases.acquire("refresh", "h1", t0, 10_000), true);
    assert.equal(await store.leases.acquire("refresh", "h2", t0 + 1, 10_000), false);
    // The holder renews.
    assert.equal(await store.leases.acquire("refresh", "h1", t0 + 5_000, 10_000), true);
    assert.equal(await store.leases.acquire("refresh", "h2", t0 + 14_999, 10_000), false);
    // Other names are independent.
    assert.equal(await store.leases.acquire("other", "h2", t0, 10_000), true);
    // Expired: taken over, and the old holder is now out.
    assert.equal(await store.leases.acquire("refresh", "h2", t0 + 15_000, 10_000), true);
    assert.equal(await store.leases.acquire("refresh", "h1", t0 + 15_001, 10_000), false);
    // Releasing someone else's lease does nothing; releasing your own frees it.
    await store.leases.release("refresh", "h1");
    assert.equal(await store.leases.acquire("refresh", "h3", t0 + 15_002, 10_000), false);
    await store.leases.release("refresh", "h2");
    assert.equal(await store.leases.acquire("refresh", "h3", t0 + 15_003, 10_000), true);
  });
});

Deno.test("admins.createFirst creates one admin only", async () => {
  await withStore(async (store) => {
    assert.equal(await store.admins.count(), 0);
    const results = await Promise.all([
      store.admins.createFirst({ id: "a1", username: "alice", password_hash: "scrypt$x" }),
      store.admins.createFirst({ id: "a2", username: "bobby", password_hash: "scrypt$y" }),
    ]);
    assert.deepEqual(results, [true, false]);
    assert.equal(
      await store.admins.createFirst({ id: "a3", username: "carol", password_hash: "scrypt$z" }),
      false,
    );
    assert.equal(await store.admins.count(), 1);
    assert.equal((await store.admins.findByUsername("alice"))?.id, "a1");
    assert.equal(await store.admins.findByUsername("bobby"), null);
    assert.equal((await store.admins.get("a1"))?.username, "alice");
  });
});

Deno.test("sessions, login attempts, meta and client keys round-trip", async () => {
  await withStore(async (store) => {
    await store.admins.createFirst({ id: "a1", username: "alice", password_hash: "scrypt$x" });
    await store.sessions.create({ token_hash: "h1", admin_id: "a1", created_at: 1, expires_at: 100 });
    await store.sessions.create({ token_hash: "h2", admin_id: "a1", created_at: 1, expires_at: 300 });
    assert.deepEqual(await store.sessions.get("h1"), {
      token_hash: "h1",
      admin_id: "a1",
      created_at: 1,
      expires_at: 100,
    });
    assert.equal(await store.sessions.deleteExpired(200), 1);
    assert.equal(await store.sessions.get("h1"), null);
    assert.ok(await store.sessions.get("h2"));

    const attempts = { key: "1.2.3.4", failures: 2, window_start: 10, window_count: 3, locked_until: null };
    await store.loginAttempts.put(attempts);
    assert.deepEqual(await store.loginAttempts.get("1.2.3.4"), attempts);
    await store.loginAttempts.put({ ...attempts, locked_until: 999 });
    assert.equal((await store.loginAttempts.get("1.2.3.4"))?.locked_until, 999);
    await store.loginAttempts.clear("1.2.3.4");
    assert.equal(await store.loginAttempts.get("1.2.3.4"), null);

    assert.equal(await store.meta.setIfMissing("k", "first"), "first");
    assert.equal(await store.meta.setIfMissing("k", "second"), "first");
    assert.equal(await store.meta.get("k"), "first");

    const key = await store.clientKeys.create("k1", "digest-1", "sk-amq-abc", "label");
    assert.equal(key.last_used_at, null);
    assert.equal((await store.clientKeys.findByHash("digest-1"))?.id, "k1");
    assert.ok((await store.clientKeys.list())[0]?.last_used_at, "a lookup marks the key used");
    assert.equal(await store.clientKeys.findByHash("sk-amq-abc"), null);
    assert.equal(await store.clientKeys.delete("k1"), true);
    assert.equal(await store.clientKeys.delete("k1"), false);
  });
});

Deno.test("deleting an account removes its call log (foreign keys are on)", async () => {
  await withStore(async (store) => {
    const account = await store.accounts.create({ type: "amazonq" });
    await store.accounts.recordCall(account.id, "success", null, 5);
    assert.equal(await store.accounts.countCallsSince(account.id, 0), 1);
    assert.equal(await store.accounts.delete(account.id), true);
    assert.equal(await store.accounts.countCallsSince(account.id, 0), 0);
    assert.equal(await store.accounts.delete(account.id), false);
  });
});

Deno.test("pruneCalls drops call records older than the cut-off and keeps the rest", async () => {
  const store = openSqliteStore(":memory:");
  try {
    const a = await store.accounts.create({ type: "custom_api", clientSecret: "k" });
    await store.accounts.recordCall(a.id, "success", null, 1_000);
    await store.accounts.recordCall(a.id, "failure", "throttled", 5_000);
    assert.equal(await store.accounts.pruneCalls(2_000), 1);
    assert.equal(await store.accounts.countCallsSince(a.id, 0), 1);
  } finally {
    await store.close();
  }
});

Deno.test("oauthStates: single use, expired ones dropped on put, and a cap on how many may wait", async () => {
  const store = openSqliteStore(":memory:");
  try {
    assert.equal(await store.oauthStates.put("s1", '{"v":1}', 2_000, 1_000, 2), true);
    assert.equal(await store.oauthStates.put("s2", '{"v":2}', 1_500, 1_000, 2), true);
    // Full at 2 while both are alive.
    assert.equal(await store.oauthStates.put("s3", '{"v":3}', 3_000, 1_000, 2), false);
    // At t=1,600 s2 has expired and is dropped, so s3 fits.
    assert.equal(await store.oauthStates.put("s3", '{"v":3}', 3_000, 1_600, 2), true);
    assert.deepEqual(await store.oauthStates.take("s1"), { data: '{"v":1}', expiresAt: 2_000 });
    assert.equal(await store.oauthStates.take("s1"), null);
    assert.equal(await store.oauthStates.take("s2"), null);
  } finally {
    await store.close();
  }
});
