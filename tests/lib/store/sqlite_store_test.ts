// The SQLite store: the shared store contract over a fresh database file per test, plus what only SQLite
// promises.
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSqliteStore } from "../../../lib/store/sqlite_store.ts";
import type { Store } from "../../../lib/store/types.ts";
import { runStoreContract } from "./store_contract.ts";

runStoreContract("sqlite", {
  ignore: false,
  enforcesColumnLengths: false,
  withDatabase: async (fn) => {
    const dir = await Deno.makeTempDir({ prefix: "amq2api-store-" });
    const opened: Store[] = [];
    try {
      await fn((options = {}) => {
        const store = openSqliteStore(join(dir, "store.db"), options);
        opened.push(store);
        return Promise.resolve(store);
      });
    } finally {
      for (const store of opened) await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("sqlite: one connection runs transactions one after another, so the first setup wins", async () => {
  const store = openSqliteStore(":memory:");
  try {
    const results = await Promise.all([
      store.admins.createFirst({ id: "a1", username: "alice", password_hash: "scrypt$x" }),
      store.admins.createFirst({ id: "a2", username: "bobby", password_hash: "scrypt$y" }),
    ]);
    assert.deepEqual(results, [true, false]);
    assert.equal((await store.admins.get("a1"))?.username, "alice");
  } finally {
    await store.close();
  }
});
