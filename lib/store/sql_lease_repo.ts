/**
 * Named leases (one holder at a time, until it expires) that let one instance run a scheduled job while the
 * others skip it. Taking a lease is atomic across processes; the two engines need different statements for
 * it, kept side by side here.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { LeaseRepo } from "./types.ts";

export class SqlLeaseRepo implements LeaseRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("leases");
  }

  async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    if (this.#dialect.kind === "sqlite") {
      // One statement: insert, or take over when expired or already ours.
      const changed = await this.#db.run(
        `INSERT INTO ${this.#table} (name, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE ${this.#table}.expires_at <= ? OR ${this.#table}.holder = excluded.holder`,
        [name, holder, now + ttlMs, now],
      );
      return changed > 0;
    }
    // MySQL has no `ON CONFLICT ... WHERE`, and its affected-row count cannot tell "taken" from "someone
    // else's, left alone" (both report one matched row). So: a conditional upsert, then read the holder
    // back in the same transaction, which still holds the row lock the upsert took.
    // The assignments run left to right and `holder = ?` in the second sees the first's result: after it,
    // `holder` is ours exactly when we may take the lease (expired, or already ours), so the expiry moves
    // only then.
    return this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO ${this.#table} (name, holder, expires_at) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE holder = IF(expires_at <= ? OR holder = ?, ?, holder),
           expires_at = IF(holder = ?, ?, expires_at)`,
        [name, holder, now + ttlMs, now, holder, holder, holder, now + ttlMs],
      );
      const [row] = await tx.rows(`SELECT holder FROM ${this.#table} WHERE name = ?`, [name]);
      return row?.holder === holder;
    });
  }

  async release(name: string, holder: string): Promise<void> {
    await this.#db.run(`DELETE FROM ${this.#table} WHERE name = ? AND holder = ?`, [name, holder]);
  }
}
