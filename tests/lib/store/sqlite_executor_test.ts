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

Deno.test("sqlite executor: a relaxed transaction lowers durability for its own commit only, also when it fails", async () => {
  const dir = await Deno.makeTempDir();
  const db = new DatabaseSync(`${dir}/relaxed.db`);
  try {
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)");
    const synchronous = () => (db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
    assert.equal(synchronous(), 2, "FULL by default");
    const executor = new SqliteExecutor(db);
    let seen = -1;
    await executor.transaction(async (tx) => {
      seen = synchronous();
      await tx.run("INSERT INTO t (v) VALUES (1)");
    }, { relaxed: true });
    assert.equal(seen, 1, "NORMAL inside");
    assert.equal(synchronous(), 2, "FULL again after the commit");
    await assert.rejects(
      executor.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES (2)");
        throw new Error("roll back");
      }, { relaxed: true }),
      /roll back/,
    );
    assert.equal(synchronous(), 2, "FULL again after a rollback");
    await executor.transaction((tx) => tx.run("INSERT INTO t (v) VALUES (3)"));
    assert.deepEqual((await executor.rows("SELECT v FROM t ORDER BY v")).map((r) => r.v), [1, 3]);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
