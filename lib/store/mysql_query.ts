/**
 * Small typed wrappers over `mysql2/promise` shared by the MySQL store's files: read rows, run a write,
 * run a function in one transaction (retried on a deadlock), or under a server-wide named lock.
 *
 * Statements go through `query` (client-side escaping of `?` values), not server-side prepared statements:
 * MySQL 8 rejects JS numbers bound as DOUBLE in `LIMIT ?`, and a prepared-statement cache per pooled
 * connection buys nothing for these short statements.
 */
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";

export type MysqlQueryable = Pool | PoolConnection;
export type MysqlValue = string | number | null;

/** Runs a SELECT; rows as plain records. */
export async function mysqlRows(
  db: MysqlQueryable,
  sql: string,
  params: readonly MysqlValue[] = [],
): Promise<Array<Record<string, unknown>>> {
  const [rows] = await db.query<RowDataPacket[]>(sql, [...params]);
  return rows;
}

/** Runs a write; its result header (`affectedRows`, `insertId`). */
export async function mysqlExec(
  db: MysqlQueryable,
  sql: string,
  params: readonly MysqlValue[] = [],
): Promise<ResultSetHeader> {
  const [result] = await db.query<ResultSetHeader>(sql, [...params]);
  return result;
}

/** InnoDB picked this transaction as a deadlock victim (or gave up waiting): running it again is safe. */
function isRetryable(error: unknown): boolean {
  const errno = (error as { errno?: number } | null)?.errno;
  return errno === 1213 || errno === 1205;
}

/** Runs `fn` in one transaction on one pooled connection; rolls back on error, retries deadlock victims (five tries, paced). */
export async function mysqlTransaction<T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      try {
        const result = await fn(conn);
        await conn.commit();
        return result;
      } catch (error) {
        await conn.rollback().catch(() => {});
        throw error;
      }
    } catch (error) {
      if (attempt >= 5 || !isRetryable(error)) throw error;
    } finally {
      conn.release();
    }
    // Let the transaction that won finish before trying again, a little longer each time.
    await new Promise((resolve) => setTimeout(resolve, attempt * 10));
  }
}

/**
 * Runs `fn` while holding the server-wide lock `name` (`GET_LOCK`), so instances sharing the database
 * take turns. The lock belongs to the connection: it is released when `fn` ends, or by the server when the
 * connection dies, so a crashed instance never leaves it held.
 */
export async function mysqlWithNamedLock<T>(
  pool: Pool,
  name: string,
  timeoutSeconds: number,
  fn: (conn: PoolConnection) => Promise<T>,
): Promise<T> {
  const conn = await pool.getConnection();
  let reusable = true;
  try {
    const [row] = await mysqlRows(conn, "SELECT GET_LOCK(?, ?) AS ok", [name, timeoutSeconds]);
    if (Number(row?.ok) !== 1) {
      throw new Error(`timed out after ${timeoutSeconds} s waiting for the MySQL lock "${name}"`);
    }
    try {
      return await fn(conn);
    } finally {
      // A connection that may still hold the lock must not go back to the pool: closing it frees the lock.
      await mysqlRows(conn, "SELECT RELEASE_LOCK(?)", [name]).catch(() => {
        reusable = false;
      });
    }
  } finally {
    if (reusable) conn.release();
    else conn.destroy();
  }
}
