/**
 * The shared MySQL/MariaDB store behind `DATABASE_URL=mysql://user:pass@host:3306/db`, for several
 * instances serving one set of accounts. Same repositories and semantics as `sqlite_store.ts`; what SQLite
 * got from being one process with one synchronous connection is made explicit here, because other
 * instances write the same rows at the same time:
 * - read-merge-write (`patchOther`, `saveTokens` with `otherPatch`) locks the row in a transaction;
 * - `admins.createFirst` checks and inserts under a server lock, so one setup wins across instances;
 * - `leases.acquire` is one conditional upsert, then a re-read of the holder in the same transaction;
 * - `config.seed` and `meta.setIfMissing` never overwrite (`INSERT IGNORE`).
 *
 * A pool of connections (`connectionLimit`, 10 unless the URL's query says otherwise); BIGINT epoch-ms
 * columns come back as numbers, and COUNT/SUM results are converted with `Number()`. The database is
 * created when missing, as the reference implementation did. Error messages name the server and database,
 * never the password.
 */
import mysql, { type Pool } from "mysql2/promise";
import { ConfigError } from "../errors.ts";
import { MysqlAccountRepo } from "./mysql_account_repo.ts";
import { migrateMysql } from "./mysql_migrations.ts";
import {
  mysqlExec,
  mysqlRows,
  mysqlTransaction,
  type MysqlValue,
  mysqlWithNamedLock,
} from "./mysql_query.ts";
import type {
  AdminRepo,
  AdminSession,
  AdminUser,
  ClientKey,
  ClientKeyRepo,
  ConfigRepo,
  LeaseRepo,
  LoginAttemptRepo,
  LoginAttempts,
  MetaRepo,
  OAuthStateRepo,
  SessionRepo,
  Store,
  UsageRecord,
  UsageRepo,
  UsageSummaryRow,
} from "./types.ts";

type Row = Record<string, unknown>;

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

/** Creates the database when the server says it does not exist (errno 1049), like the reference did. */
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
  const now = options.now ?? Date.now;
  const newId = options.newId ?? (() => crypto.randomUUID());
  const iso = () => new Date(now()).toISOString();
  let closed = false;
  return {
    kind: "mysql",
    accounts: new MysqlAccountRepo(pool, now, newId),
    config: new MysqlConfigRepo(pool, iso),
    clientKeys: new MysqlClientKeyRepo(pool, iso),
    admins: new MysqlAdminRepo(pool, iso),
    sessions: new MysqlSessionRepo(pool),
    loginAttempts: new MysqlLoginAttemptRepo(pool),
    usage: new MysqlUsageRepo(pool),
    leases: new MysqlLeaseRepo(pool),
    meta: new MysqlMetaRepo(pool),
    oauthStates: new MysqlOAuthStateRepo(pool),
    schemaVersion: () => Promise.resolve(version),
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
  };
}

function parseConfigValue(raw: unknown): unknown {
  const text = String(raw);
  try {
    return JSON.parse(text);
  } catch {
    // A value written by the reference implementation as a bare string.
    return text;
  }
}

class MysqlConfigRepo implements ConfigRepo {
  constructor(private readonly pool: Pool, private readonly iso: () => string) {}

  async getAll(): Promise<Record<string, unknown>> {
    const rows = await mysqlRows(this.pool, "SELECT `key`, value FROM amq2api_config");
    const out: Record<string, unknown> = {};
    for (const row of rows) out[String(row.key)] = parseConfigValue(row.value);
    return out;
  }

  async putMany(entries: Record<string, unknown>): Promise<void> {
    await mysqlTransaction(this.pool, async (conn) => {
      for (const [key, value] of Object.entries(entries)) {
        const json = JSON.stringify(value);
        const at = this.iso();
        await mysqlExec(
          conn,
          "INSERT INTO amq2api_config (`key`, value, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE value = ?, updated_at = ?",
          [key, json, at, json, at],
        );
      }
    });
  }

  async seed(defaults: Record<string, unknown>): Promise<void> {
    const entries = Object.entries(defaults);
    if (entries.length === 0) return;
    const at = this.iso();
    // One statement: another instance seeding at the same moment cannot interleave, and a key that
    // exists (an operator's value) is never overwritten.
    await mysqlExec(
      this.pool,
      `INSERT IGNORE INTO amq2api_config (\`key\`, value, updated_at) VALUES ${
        entries.map(() => "(?, ?, ?)").join(", ")
      }`,
      entries.flatMap(([key, value]) => [key, JSON.stringify(value), at]),
    );
  }
}

function toClientKey(row: Row): ClientKey {
  return {
    id: String(row.id),
    label: row.label === null ? null : String(row.label),
    prefix: String(row.prefix),
    created_at: String(row.created_at),
    last_used_at: row.last_used_at === null ? null : String(row.last_used_at),
  };
}

class MysqlClientKeyRepo implements ClientKeyRepo {
  constructor(private readonly pool: Pool, private readonly iso: () => string) {}

  async list(): Promise<ClientKey[]> {
    return (await mysqlRows(this.pool, "SELECT * FROM amq2api_client_keys ORDER BY created_at")).map(
      toClientKey,
    );
  }

  async create(id: string, keyHash: string, prefix: string, label: string | null): Promise<ClientKey> {
    await mysqlExec(
      this.pool,
      "INSERT INTO amq2api_client_keys (id, key_hash, prefix, label, created_at) VALUES (?, ?, ?, ?, ?)",
      [id, keyHash, prefix, label, this.iso()],
    );
    const [row] = await mysqlRows(this.pool, "SELECT * FROM amq2api_client_keys WHERE id = ?", [id]);
    return toClientKey(row!);
  }

  async findByHash(keyHash: string): Promise<ClientKey | null> {
    const [row] = await mysqlRows(this.pool, "SELECT * FROM amq2api_client_keys WHERE key_hash = ?", [
      keyHash,
    ]);
    if (!row) return null;
    await mysqlExec(this.pool, "UPDATE amq2api_client_keys SET last_used_at = ? WHERE id = ?", [
      this.iso(),
      String(row.id),
    ]);
    return toClientKey(row);
  }

  async delete(id: string): Promise<boolean> {
    return (await mysqlExec(this.pool, "DELETE FROM amq2api_client_keys WHERE id = ?", [id])).affectedRows >
      0;
  }

  async count(): Promise<number> {
    const [row] = await mysqlRows(this.pool, "SELECT COUNT(*) AS n FROM amq2api_client_keys");
    return Number(row?.n ?? 0);
  }
}

function toAdmin(row: Row): AdminUser {
  return { id: String(row.id), username: String(row.username), password_hash: String(row.password_hash) };
}

class MysqlAdminRepo implements AdminRepo {
  constructor(private readonly pool: Pool, private readonly iso: () => string) {}

  async count(): Promise<number> {
    const [row] = await mysqlRows(this.pool, "SELECT COUNT(*) AS n FROM amq2api_admin_users");
    return Number(row?.n ?? 0);
  }

  createFirst(user: AdminUser): Promise<boolean> {
    // Two instances (or two requests) setting up at once: the server lock makes check-then-insert one
    // step. A transaction alone would not do: both could see an empty table under REPEATABLE READ.
    return mysqlWithNamedLock(this.pool, "amq2api_admin_setup", 10, async (conn) => {
      const [row] = await mysqlRows(conn, "SELECT COUNT(*) AS n FROM amq2api_admin_users");
      if (Number(row?.n ?? 0) > 0) return false;
      await mysqlExec(
        conn,
        "INSERT INTO amq2api_admin_users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        [user.id, user.username, user.password_hash, this.iso(), this.iso()],
      );
      return true;
    });
  }

  async findByUsername(username: string): Promise<AdminUser | null> {
    const [row] = await mysqlRows(
      this.pool,
      "SELECT id, username, password_hash FROM amq2api_admin_users WHERE username = ?",
      [username],
    );
    return row ? toAdmin(row) : null;
  }

  async get(id: string): Promise<AdminUser | null> {
    const [row] = await mysqlRows(
      this.pool,
      "SELECT id, username, password_hash FROM amq2api_admin_users WHERE id = ?",
      [id],
    );
    return row ? toAdmin(row) : null;
  }
}

class MysqlSessionRepo implements SessionRepo {
  constructor(private readonly pool: Pool) {}

  async create(session: AdminSession): Promise<void> {
    await mysqlExec(
      this.pool,
      "INSERT INTO amq2api_admin_session_tokens (token_hash, admin_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      [session.token_hash, session.admin_id, session.created_at, session.expires_at],
    );
  }

  async get(tokenHash: string): Promise<AdminSession | null> {
    const [row] = await mysqlRows(
      this.pool,
      "SELECT * FROM amq2api_admin_session_tokens WHERE token_hash = ?",
      [tokenHash],
    );
    if (!row) return null;
    return {
      token_hash: String(row.token_hash),
      admin_id: String(row.admin_id),
      created_at: Number(row.created_at),
      expires_at: Number(row.expires_at),
    };
  }

  async delete(tokenHash: string): Promise<void> {
    await mysqlExec(this.pool, "DELETE FROM amq2api_admin_session_tokens WHERE token_hash = ?", [tokenHash]);
  }

  async deleteExpired(now: number): Promise<number> {
    return (await mysqlExec(this.pool, "DELETE FROM amq2api_admin_session_tokens WHERE expires_at <= ?", [
      now,
    ]))
      .affectedRows;
  }
}

class MysqlLoginAttemptRepo implements LoginAttemptRepo {
  constructor(private readonly pool: Pool) {}

  async get(key: string): Promise<LoginAttempts | null> {
    const [row] = await mysqlRows(this.pool, "SELECT * FROM amq2api_login_attempts WHERE `key` = ?", [key]);
    if (!row) return null;
    return {
      key: String(row.key),
      failures: Number(row.failures),
      window_start: Number(row.window_start),
      window_count: Number(row.window_count),
      locked_until: row.locked_until === null ? null : Number(row.locked_until),
    };
  }

  async put(a: LoginAttempts): Promise<void> {
    await mysqlExec(
      this.pool,
      `INSERT INTO amq2api_login_attempts (\`key\`, failures, window_start, window_count, locked_until)
       VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE failures = ?, window_start = ?, window_count = ?, locked_until = ?`,
      [
        a.key,
        a.failures,
        a.window_start,
        a.window_count,
        a.locked_until,
        a.failures,
        a.window_start,
        a.window_count,
        a.locked_until,
      ],
    );
  }

  async clear(key: string): Promise<void> {
    await mysqlExec(this.pool, "DELETE FROM amq2api_login_attempts WHERE `key` = ?", [key]);
  }
}

class MysqlUsageRepo implements UsageRepo {
  constructor(private readonly pool: Pool) {}

  async record(r: UsageRecord): Promise<void> {
    await mysqlExec(
      this.pool,
      `INSERT INTO amq2api_usage_records (account_id, model, channel, input_tokens, output_tokens,
         cache_creation_input_tokens, cache_read_input_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.account_id,
        r.model,
        r.channel,
        r.input_tokens,
        r.output_tokens,
        r.cache_creation_input_tokens,
        r.cache_read_input_tokens,
        r.created_at,
      ],
    );
  }

  async summary(
    since: number,
    filter: { accountId?: string; model?: string } = {},
  ): Promise<UsageSummaryRow[]> {
    const where = ["created_at >= ?"];
    const params: MysqlValue[] = [since];
    if (filter.accountId) {
      where.push("account_id = ?");
      params.push(filter.accountId);
    }
    if (filter.model) {
      where.push("model = ?");
      params.push(filter.model);
    }
    const rows = await mysqlRows(
      this.pool,
      `SELECT model, COUNT(*) AS request_count, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
         SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
         SUM(cache_read_input_tokens) AS cache_read_input_tokens
       FROM amq2api_usage_records WHERE ${where.join(" AND ")}
       GROUP BY model ORDER BY SUM(input_tokens + output_tokens) DESC`,
      params,
    );
    // SUM over BIGINT is a DECIMAL, which the driver returns as a string.
    return rows.map((row) => ({
      model: String(row.model),
      request_count: Number(row.request_count),
      input_tokens: Number(row.input_tokens ?? 0),
      output_tokens: Number(row.output_tokens ?? 0),
      cache_creation_input_tokens: Number(row.cache_creation_input_tokens ?? 0),
      cache_read_input_tokens: Number(row.cache_read_input_tokens ?? 0),
    }));
  }

  async recent(limit: number): Promise<Array<UsageRecord & { id: number }>> {
    const rows = await mysqlRows(this.pool, "SELECT * FROM amq2api_usage_records ORDER BY id DESC LIMIT ?", [
      Math.max(0, Math.trunc(limit)),
    ]);
    return rows.map((row) => ({
      id: Number(row.id),
      account_id: row.account_id === null ? null : String(row.account_id),
      model: String(row.model),
      channel: String(row.channel),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cache_creation_input_tokens: Number(row.cache_creation_input_tokens),
      cache_read_input_tokens: Number(row.cache_read_input_tokens),
      created_at: Number(row.created_at),
    }));
  }
}

class MysqlLeaseRepo implements LeaseRepo {
  constructor(private readonly pool: Pool) {}

  acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    // MySQL has no `ON CONFLICT ... WHERE`, and its affected-row count cannot tell "taken" from "someone
    // else's, left alone" (both report one matched row). So: a conditional upsert, then read the holder
    // back in the same transaction, which still holds the row lock the upsert took.
    // The assignments run left to right and `holder = ?` in the second sees the first's result: after it,
    // `holder` is ours exactly when we may take the lease (expired, or already ours), so the expiry moves
    // only then.
    return mysqlTransaction(this.pool, async (conn) => {
      await mysqlExec(
        conn,
        `INSERT INTO amq2api_leases (name, holder, expires_at) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE holder = IF(expires_at <= ? OR holder = ?, ?, holder),
           expires_at = IF(holder = ?, ?, expires_at)`,
        [name, holder, now + ttlMs, now, holder, holder, holder, now + ttlMs],
      );
      const [row] = await mysqlRows(conn, "SELECT holder FROM amq2api_leases WHERE name = ?", [name]);
      return row?.holder === holder;
    });
  }

  async release(name: string, holder: string): Promise<void> {
    await mysqlExec(this.pool, "DELETE FROM amq2api_leases WHERE name = ? AND holder = ?", [name, holder]);
  }
}

class MysqlMetaRepo implements MetaRepo {
  constructor(private readonly pool: Pool) {}

  async get(key: string): Promise<string | null> {
    const [row] = await mysqlRows(this.pool, "SELECT value FROM amq2api_meta WHERE `key` = ?", [key]);
    return row ? String(row.value) : null;
  }

  async setIfMissing(key: string, value: string): Promise<string> {
    await mysqlExec(this.pool, "INSERT IGNORE INTO amq2api_meta (`key`, value) VALUES (?, ?)", [key, value]);
    return (await this.get(key))!;
  }
}

class MysqlOAuthStateRepo implements OAuthStateRepo {
  constructor(private readonly pool: Pool) {}

  async put(state: string, data: string, expiresAt: number, now: number, max: number): Promise<boolean> {
    await mysqlExec(this.pool, "DELETE FROM amq2api_oauth_states WHERE expires_at <= ?", [now]);
    const [row] = await mysqlRows(this.pool, "SELECT COUNT(*) AS n FROM amq2api_oauth_states");
    // Two instances may both pass the count at the edge; the cap is a guard against floods, not an exact limit.
    if (Number(row?.n ?? 0) >= max) return false;
    await mysqlExec(
      this.pool,
      "INSERT INTO amq2api_oauth_states (state, data, expires_at) VALUES (?, ?, ?)",
      [state, data, expiresAt],
    );
    return true;
  }

  take(state: string): Promise<{ data: string; expiresAt: number } | null> {
    // Read and delete under a row lock, so two instances cannot both complete one sign-in.
    return mysqlTransaction(this.pool, async (conn) => {
      const [row] = await mysqlRows(
        conn,
        "SELECT data, expires_at FROM amq2api_oauth_states WHERE state = ? FOR UPDATE",
        [state],
      );
      if (!row) return null;
      await mysqlExec(conn, "DELETE FROM amq2api_oauth_states WHERE state = ?", [state]);
      return { data: String(row.data), expiresAt: Number(row.expires_at) };
    });
  }
}
