import assert from "node:assert/strict";
import { ClientKeyAuth } from "../../../lib/admin/client_key_auth.ts";
import { secretDigest } from "../../../lib/admin/secret_digest.ts";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import type { ClientKeyRepo, Store } from "../../../lib/store/types.ts";

/** The store with its client-key repository counting the calls made to it. */
function counting(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const keys = store.clientKeys;
  const clientKeys = new Proxy(keys, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as ClientKeyRepo;
  return { store: { ...store, clientKeys } as Store, calls };
}

Deno.test("client key auth: stored keys are checked from memory, revocation here is at once, last-used once a minute", async () => {
  const base = openSqliteStore(":memory:");
  try {
    const { store, calls } = counting(base);
    const clock = { t: 0 };
    const auth = new ClientKeyAuth([], store, { stalenessMs: 1_000, clock: () => clock.t });
    assert.deepEqual(await auth.check(undefined, false), { ok: false, reason: "loopback_only" });
    const { key, record } = await auth.create("ci");
    assert.equal(await auth.keysConfigured(), true, "a key created here counts at once");
    calls.length = 0;
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await auth.check(key, false), { ok: true, keyId: record.id });
    }
    assert.deepEqual(await auth.check("sk-amq-wrong", false), { ok: false, reason: "invalid" });
    assert.deepEqual(calls, ["touch"], "no query but one last-used write for six checks");
    assert.ok((await base.clientKeys.list())[0]?.last_used_at);

    clock.t = 59_999;
    await auth.check(key, false);
    assert.equal(calls.filter((c) => c === "touch").length, 1);
    clock.t = 60_000;
    await auth.check(key, false);
    assert.equal(calls.filter((c) => c === "touch").length, 2);

    const other = await auth.create(null);
    assert.equal(await store.clientKeys.delete(record.id), true);
    assert.deepEqual(await auth.check(key, false), { ok: false, reason: "invalid" });
    assert.deepEqual(await auth.check(other.key, false), { ok: true, keyId: other.record.id });
    // With no stored key left, only loopback clients are served again.
    assert.equal(await store.clientKeys.delete(other.record.id), true);
    assert.deepEqual(await auth.check(other.key, false), { ok: false, reason: "loopback_only" });
    assert.equal(await base.clientKeys.findByHash(secretDigest(key)), null);
  } finally {
    await base.close();
  }
});
