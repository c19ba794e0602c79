/**
 * The store's change counters (`StoreChanges`): one row per area in `store_versions`, bumped in the same
 * transaction as every write to the area, so a cache in any process can tell with one primary-key read
 * whether what it holds is still current. A write that rolls back bumps nothing.
 *
 * The repositories write through `write(area, fn)`; nothing else in the server needs to remember to
 * invalidate a cache after a write.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { StoreArea, StoreChanges } from "./types.ts";

export class StoreChangeLog implements StoreChanges {
  #db: SqlExecutor;
  #table: string;
  #bump: string;
  #local: Record<StoreArea, number> = { accounts: 0, config: 0, client_keys: 0 };

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#table = dialect.table("store_versions");
    this.#bump = dialect.increment(this.#table, "area", "version");
  }

  async version(area: StoreArea): Promise<number> {
    const [row] = await this.#db.rows(`SELECT version FROM ${this.#table} WHERE area = ?`, [area]);
    return Number(row?.version ?? 0);
  }

  localWrites(area: StoreArea): number {
    return this.#local[area];
  }

  /** Runs `fn` in one transaction that also bumps the area's counter; counts the write once committed. */
  async write<T>(area: StoreArea, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const result = await this.#db.transaction(async (tx) => {
      const value = await fn(tx);
      // Last, so every transaction locks data rows before the counter row: no lock-order cycles.
      await tx.run(this.#bump, [area]);
      return value;
    });
    this.#local[area]++;
    return result;
  }
}
