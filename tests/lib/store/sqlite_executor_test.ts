import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteExecutor } from "../../../lib/store/sqlite_executor.ts";

Deno.test("sqlite executor: a statement issued during another caller's transaction waits and is not rolled back with it", async () => {
  const db = new DatabaseSync(":memory:");
  try {
    db.exec("CREATE TABLE t (v INTEGER)");
    const executor = new SqliteExecutor(db);
    let began!: () => void;
    const begun = new Promise<void>((resolve) => began = resolve);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const failing = executor.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES (1)");
      began();
      await gate;
      throw new Error("roll back");
    });
    await begun;
    // Issued while the transaction is open: it must wait for its end instead of joining it.
    const plain = executor.run("INSERT INTO t (v) VALUES (2)");
    const other = executor.transaction((tx) => tx.run("INSERT INTO t (v) VALUES (3)"));
    release();
    await assert.rejects(failing, /roll back/);
    assert.equal(await plain, 1);
    assert.equal(await other, 1);
    assert.deepEqual((await executor.rows("SELECT v FROM t ORDER BY v")).map((r) => r.v), [2, 3]);
    // Errors come back as rejections, and the executor stays usable.
    await assert.rejects(executor.rows("SELECT nope FROM t"));
    assert.equal((await executor.rows("SELECT COUNT(*) AS n FROM t"))[0]?.n, 2);
  } finally {
    db.close();
  }
});
