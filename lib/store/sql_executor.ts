/**
 * The one thing the repositories need from an engine: run a statement, read rows, run a few statements as
 * one transaction, or run them while no other caller of the same name runs (across processes).
 *
 * SQLite (`sqlite_executor.ts`) and MySQL (`mysql_executor.ts`) implement it, so each repository's SQL and
 * row mapping is written once; what the dialects spell differently comes from `SqlDialect`.
 */

export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface TransactionOptions {
  /**
   * The commit need not wait for the disk: for counters where losing the last moments of changes to a
   * power failure is harmless (the database is never corrupted, later durable commits sync them too). On
   * SQLite this saves an fsync that would block the event loop for milliseconds; MySQL ignores it.
   */
  relaxed?: boolean;
}

export interface SqlExecutor {
  /** Runs a query; its rows as plain records. */
  rows(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Runs a write; how many rows it affected. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `fn` in one write transaction, statements through the executor it is given; rolls back when `fn`
   * throws. Inside a transaction, `transaction` just runs `fn` in the same one.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Runs `fn` while no other caller with the same `name` (in any process on this database) runs. */
  exclusive<T>(name: string, fn: (db: SqlExecutor) => Promise<T>): Promise<T>;
}
