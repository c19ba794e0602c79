/**
 * The shared MySQL/MariaDB store behind `DATABASE_URL=mysql://user:pass@host:3306/db`, for several
 * instances serving one set of accounts. The repositories are the ones SQLite uses (`sql_store.ts`); what
 * SQLite got from being one process with one synchronous connection is explicit in them, because other
 * instances write the same rows at the same time: read-merge-write locks the row in a transaction,
 * `admins.createFirst` runs under a server lock, `leases.acquire` is a conditional upsert read back in its
 * transaction, and seeds never overwrite. This file opens the pool and migrates.
 *
 * A pool of connections (`connectionLimit`, 10 unless the URL's query says otherwise); BIGINT epoch-ms
 * columns come back as numbers, and COUNT/SUM results are converted with `Number()`. The database is
 * created when missing, so a first start needs only a server and credentials. Error messages name the server and database,
 * never the password.
 */
import mysql, { type Pool } from "mysql2/promise";
import { ConfigError } from "../errors.ts";
import { MysqlExecutor } from "./mysql_executor.ts";
import { migrateMysql } from "./mysql_migrations.ts";
import { SqlDialect } from "./sql_dialect.ts";
import { sqlStore } from "./sql_store.ts";
import type { Store } from "./types.ts";

export interface MysqlStoreOptions {
  now?: () => number;
  newId?: () => string;
}

/** Where a `mysql://` URL points, for messages (no credentials), and the database it names. */
interface MysqlTarget {
  database: string;
  where: string;
  password: string;
}

function parseTarget(url: string): MysqlTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError("DATABASE_URL is not a valid mysql://user:pass@host:3306/db URL");
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  const where = `${parsed.hostname}:${parsed.port || "3306"}`;
  if (!database || database.includes("/")) {
    throw new ConfigError(`DATABASE_URL must name a database: mysql://user:pass@${where}/<database>`);
  }
  return { database, where: `${where}/${database}`, password: decodeURIComponent(parsed.password) };
}

/** The driver's message with the server named and the password, should it appear, masked. */
function describe(error: unknown, target: MysqlTarget): string {
  const code = (error as { code?: string } | null)?.code;
  let message = error instanceof Error ? error.message : String(error);
  if (target.password) message = message.replaceAll(target.password, "***");
  if (!message && code) message = code;
  return `MySQL at ${target.where}: ${message}`;
}

function createPool(url: string): Pool {
  return mysql.createPool({
    uri: url,
    connectionLimit: 10,
    // Epoch-ms BIGINTs fit in a double: numbers, not strings (strings only past 2^53, which never occurs).
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: "utf8mb4",
    connectTimeout: 10_000,
    enableKeepAlive: true,
  });
}

/** Creates the database when the server says it does not exist (errno 1049), so a first start needs no manual step. */
async function ensureDatabase(url: string, pool: Pool, target: MysqlTarget): Promise<void> {
  try {
    await pool.query("SELECT 1");
    return;
  } catch (error) {
    if ((error as { errno?: number }).errno !== 1049) throw error;
  }
  const serverUrl = new URL(url);
  serverUrl.pathname = "/";
  const conn = await mysql.createConnection({ uri: serverUrl.toString(), charset: "utf8mb4" });
  try {
    const name = "`" + target.database.replaceAll("`", "``") + "`";
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await conn.end();
  }
}

/** Opens (creating the database if needed) and migrates a MySQL store. */
export async function openMysqlStore(url: string, options: MysqlStoreOptions = {}): Promise<Store> {
  const target = parseTarget(url);
  const pool = createPool(url);
  let version: number;
  try {
    await ensureDatabase(url, pool, target);
    version = await migrateMysql(pool);
  } catch (error) {
    // A store that refused to open must not leave sockets (or the pool's timers) behind.
    await pool.end().catch(() => {});
    throw new Error(describe(error, target), { cause: error });
  }
  let closed = false;
  return sqlStore({
    db: new MysqlExecutor(pool),
    dialect: new SqlDialect("mysql"),
    schemaVersion: version,
    now: options.now,
    newId: options.newId,
    ping: async () => {
      try {
        await pool.query("SELECT 1");
      } catch (error) {
        throw new Error(describe(error, target), { cause: error });
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  });
}
