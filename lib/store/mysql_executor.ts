/**
 * `SqlExecutor` over a `mysql2` pool: statements on any pooled connection; a transaction on one connection
 * (retried when InnoDB picks it as a deadlock victim); `exclusive` under a server-wide named lock, which
 * instances sharing the database take in turn.
 */
import type { Pool, PoolConnection } from "mysql2/promise";
import { mysqlExec, mysqlRows, mysqlTransaction, mysqlWithNamedLock } from "./mysql_query.ts";
import type { SqlExecutor, SqlRow, SqlValue } from "./sql_executor.ts";

/** How long `exclusive` waits for the lock before giving up. */
const LOCK_WAIT_SECONDS = 10;

export class MysqlExecutor implements SqlExecutor {
  #pool: Pool;
  /** Set on the executor a transaction's callback gets: its connection. */
  #conn: PoolConnection | null;

  constructor(pool: Pool, conn: PoolConnection | null = null) {
    this.#pool = pool;
    this.#conn = conn;
  }

  rows(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return mysqlRows(this.#conn ?? this.#pool, sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await mysqlExec(this.#conn ?? this.#pool, sql, params)).affectedRows;
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.#conn) return fn(this);
    return mysqlTransaction(this.#pool, (conn) => fn(new MysqlExecutor(this.#pool, conn)));
  }

  exclusive<T>(name: string, fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.#conn) return fn(this);
    return mysqlWithNamedLock(
      this.#pool,
      name,
      LOCK_WAIT_SECONDS,
      (conn) => fn(new MysqlExecutor(this.#pool, conn)),
    );
  }
}
