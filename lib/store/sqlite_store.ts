/**
 * The embedded SQLite store (`node:sqlite`), the default behind `DATABASE_URL=sqlite:<path>`.
 *
 * Opens the file (creating its directory), sets WAL mode, foreign keys and a busy timeout, runs the
 * migrations, and exposes the repositories of `types.ts`. `node:sqlite` is synchronous: queries are short,
 * statements are prepared once, and nothing here runs per streamed event.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { SqliteAccountRepo } from "./sqlite_account_repo.ts";
import { migrateSqlite } from "./sqlite_migrations.ts";
import { sqliteTransaction } from "./sqlite_transaction.ts";
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

type Row = Record<string, SQLInputValue>;

export interface SqliteStoreOptions {
  now?: () => number;
  newId?: () => string;
}

/** Opens (and migrates) a SQLite store; `path` may be `:memory:`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
  let version: number;
  try {
    version = migrateSqlite(db);
  } catch (error) {
    // Refusing to open (e.g. a schema newer than this server) must not leave the file handle open.
    db.close();
    throw error;
  }
  const now = options.now ?? Date.now;
  const newId = options.newId ?? (() => crypto.randomUUID());
  const iso = () => new Date(now()).toISOString();
  return {
    kind: "sqlite",
    accounts: new SqliteAccountRepo(db, now, newId),
    config: new SqliteConfigRepo(db, iso),
    clientKeys: new SqliteClientKeyRepo(db, iso),
    admins: new SqliteAdminRepo(db, iso),
    sessions: new SqliteSessionRepo(db),
    loginAttempts: new SqliteLoginAttemptRepo(db),
    usage: new SqliteUsageRepo(db),
    leases: new SqliteLeaseRepo(db),
    meta: new SqliteMetaRepo(db),
    oauthStates: new SqliteOAuthStateRepo(db),
    schemaVersion: () => Promise.resolve(version),
    ping: () => {
      db.prepare("SELECT 1").get();
      return Promise.resolve();
    },
    close: () => {
      if (db.isOpen) db.close();
      return Promise.resolve();
    },
  };
}

class SqliteConfigRepo implements ConfigRepo {
  constructor(private readonly db: DatabaseSync, private readonly iso: () => string) {}

  getAll(): Promise<Record<string, unknown>> {
    const rows = this.db.prepare("SELECT key, value FROM config").all() as Array<
      { key: string; value: string }
    >;
    const out: Record<string, unknown> = {};
    for (const row of rows) {
      try {
        out[row.key] = JSON.parse(row.value);
      } catch {
        // A value written by the reference implementation as a bare string.
        out[row.key] = row.value;
      }
    }
    return Promise.resolve(out);
  }

  putMany(entries: Record<string, unknown>): Promise<void> {
    const statement = this.db.prepare(
      "INSERT INTO config (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    );
    sqliteTransaction(this.db, () => {
      for (const [key, value] of Object.entries(entries)) {
        statement.run(key, JSON.stringify(value), this.iso());
      }
    });
    return Promise.resolve();
  }

  seed(defaults: Record<string, unknown>): Promise<void> {
    const statement = this.db.prepare(
      "INSERT OR IGNORE INTO config (key, value, updated_at) VALUES (?, ?, ?)",
    );
    sqliteTransaction(this.db, () => {
      for (const [key, value] of Object.entries(defaults)) {
        statement.run(key, JSON.stringify(value), this.iso());
      }
    });
    return Promise.resolve();
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

class SqliteClientKeyRepo implements ClientKeyRepo {
  #byHash: StatementSync;
  #touch: StatementSync;
  constructor(private readonly db: DatabaseSync, private readonly iso: () => string) {
    this.#byHash = db.prepare("SELECT * FROM client_keys WHERE key_hash = ?");
    this.#touch = db.prepare("UPDATE client_keys SET last_used_at = ? WHERE id = ?");
  }

  list(): Promise<ClientKey[]> {
    const rows = this.db.prepare("SELECT * FROM client_keys ORDER BY created_at").all() as Row[];
    return Promise.resolve(rows.map(toClientKey));
  }

  create(id: string, keyHash: string, prefix: string, label: string | null): Promise<ClientKey> {
    this.db.prepare(
      "INSERT INTO client_keys (id, key_hash, prefix, label, created_at) VALUES (?, ?, ?, ?, ?)",
    )
      .run(id, keyHash, prefix, label, this.iso());
    const row = this.db.prepare("SELECT * FROM client_keys WHERE id = ?").get(id) as Row;
    return Promise.resolve(toClientKey(row));
  }

  findByHash(keyHash: string): Promise<ClientKey | null> {
    const row = this.#byHash.get(keyHash) as Row | undefined;
    if (!row) return Promise.resolve(null);
    this.#touch.run(this.iso(), String(row.id));
    return Promise.resolve(toClientKey(row));
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(
      Number(this.db.prepare("DELETE FROM client_keys WHERE id = ?").run(id).changes) > 0,
    );
  }

  count(): Promise<number> {
    return Promise.resolve(Number((this.db.prepare("SELECT COUNT(*) AS n FROM client_keys").get() as Row).n));
  }
}

class SqliteAdminRepo implements AdminRepo {
  constructor(private readonly db: DatabaseSync, private readonly iso: () => string) {}

  count(): Promise<number> {
    return Promise.resolve(Number((this.db.prepare("SELECT COUNT(*) AS n FROM admin_users").get() as Row).n));
  }

  createFirst(user: AdminUser): Promise<boolean> {
    // Check and insert in one write transaction: two concurrent setups cannot both create an admin.
    const created = sqliteTransaction(this.db, () => {
      const n = Number((this.db.prepare("SELECT COUNT(*) AS n FROM admin_users").get() as Row).n);
      if (n > 0) return false;
      this.db.prepare(
        "INSERT INTO admin_users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
      ).run(user.id, user.username, user.password_hash, this.iso(), this.iso());
      return true;
    });
    return Promise.resolve(created);
  }

  findByUsername(username: string): Promise<AdminUser | null> {
    const row = this.db.prepare("SELECT id, username, password_hash FROM admin_users WHERE username = ?")
      .get(username) as AdminUser | undefined;
    return Promise.resolve(row ? { ...row } : null);
  }

  get(id: string): Promise<AdminUser | null> {
    const row = this.db.prepare("SELECT id, username, password_hash FROM admin_users WHERE id = ?").get(id) as
      | AdminUser
      | undefined;
    return Promise.resolve(row ? { ...row } : null);
  }
}

class SqliteSessionRepo implements SessionRepo {
  #get: StatementSync;
  constructor(private readonly db: DatabaseSync) {
    this.#get = db.prepare("SELECT * FROM admin_session_tokens WHERE token_hash = ?");
  }

  create(session: AdminSession): Promise<void> {
    this.db.prepare(
      "INSERT INTO admin_session_tokens (token_hash, admin_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    ).run(session.token_hash, session.admin_id, session.created_at, session.expires_at);
    return Promise.resolve();
  }

  get(tokenHash: string): Promise<AdminSession | null> {
    const row = this.#get.get(tokenHash) as Row | undefined;
    if (!row) return Promise.resolve(null);
    return Promise.resolve({
      token_hash: String(row.token_hash),
      admin_id: String(row.admin_id),
      created_at: Number(row.created_at),
      expires_at: Number(row.expires_at),
    });
  }

  delete(tokenHash: string): Promise<void> {
    this.db.prepare("DELETE FROM admin_session_tokens WHERE token_hash = ?").run(tokenHash);
    return Promise.resolve();
  }

  deleteExpired(now: number): Promise<number> {
    const result = this.db.prepare("DELETE FROM admin_session_tokens WHERE expires_at <= ?").run(now);
    return Promise.resolve(Number(result.changes));
  }
}

class SqliteLoginAttemptRepo implements LoginAttemptRepo {
  constructor(private readonly db: DatabaseSync) {}

  get(key: string): Promise<LoginAttempts | null> {
    const row = this.db.prepare("SELECT * FROM login_attempts WHERE key = ?").get(key) as Row | undefined;
    if (!row) return Promise.resolve(null);
    return Promise.resolve({
      key: String(row.key),
      failures: Number(row.failures),
      window_start: Number(row.window_start),
      window_count: Number(row.window_count),
      locked_until: row.locked_until === null ? null : Number(row.locked_until),
    });
  }

  put(a: LoginAttempts): Promise<void> {
    this.db.prepare(
      `INSERT INTO login_attempts (key, failures, window_start, window_count, locked_until) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
         window_count = excluded.window_count, locked_until = excluded.locked_until`,
    ).run(a.key, a.failures, a.window_start, a.window_count, a.locked_until);
    return Promise.resolve();
  }

  clear(key: string): Promise<void> {
    this.db.prepare("DELETE FROM login_attempts WHERE key = ?").run(key);
    return Promise.resolve();
  }
}

class SqliteUsageRepo implements UsageRepo {
  #insert: StatementSync;
  constructor(private readonly db: DatabaseSync) {
    this.#insert = db.prepare(
      `INSERT INTO usage_records (account_id, model, channel, input_tokens, output_tokens,
         cache_creation_input_tokens, cache_read_input_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  record(r: UsageRecord): Promise<void> {
    this.#insert.run(
      r.account_id,
      r.model,
      r.channel,
      r.input_tokens,
      r.output_tokens,
      r.cache_creation_input_tokens,
      r.cache_read_input_tokens,
      r.created_at,
    );
    return Promise.resolve();
  }

  summary(since: number, filter: { accountId?: string; model?: string } = {}): Promise<UsageSummaryRow[]> {
    const where = ["created_at >= ?"];
    const params: SQLInputValue[] = [since];
    if (filter.accountId) {
      where.push("account_id = ?");
      params.push(filter.accountId);
    }
    if (filter.model) {
      where.push("model = ?");
      params.push(filter.model);
    }
    const rows = this.db.prepare(
      `SELECT model, COUNT(*) AS request_count, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
         SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
         SUM(cache_read_input_tokens) AS cache_read_input_tokens
       FROM usage_records WHERE ${
        where.join(" AND ")
      } GROUP BY model ORDER BY SUM(input_tokens + output_tokens) DESC`,
    ).all(...params) as Row[];
    return Promise.resolve(rows.map((row) => ({
      model: String(row.model),
      request_count: Number(row.request_count),
      input_tokens: Number(row.input_tokens ?? 0),
      output_tokens: Number(row.output_tokens ?? 0),
      cache_creation_input_tokens: Number(row.cache_creation_input_tokens ?? 0),
      cache_read_input_tokens: Number(row.cache_read_input_tokens ?? 0),
    })));
  }

  recent(limit: number): Promise<Array<UsageRecord & { id: number }>> {
    const rows = this.db.prepare("SELECT * FROM usage_records ORDER BY id DESC LIMIT ?").all(limit) as Row[];
    return Promise.resolve(rows.map((row) => ({
      id: Number(row.id),
      account_id: row.account_id === null ? null : String(row.account_id),
      model: String(row.model),
      channel: String(row.channel),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cache_creation_input_tokens: Number(row.cache_creation_input_tokens),
      cache_read_input_tokens: Number(row.cache_read_input_tokens),
      created_at: Number(row.created_at),
    })));
  }
}

class SqliteLeaseRepo implements LeaseRepo {
  constructor(private readonly db: DatabaseSync) {}

  acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    // One statement: insert, or take over when expired or already ours. Atomic across processes.
    const result = this.db.prepare(
      `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`,
    ).run(name, holder, now + ttlMs, now);
    return Promise.resolve(Number(result.changes) > 0);
  }

  release(name: string, holder: string): Promise<void> {
    this.db.prepare("DELETE FROM leases WHERE name = ? AND holder = ?").run(name, holder);
    return Promise.resolve();
  }
}

class SqliteMetaRepo implements MetaRepo {
  constructor(private readonly db: DatabaseSync) {}

  get(key: string): Promise<string | null> {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined;
    return Promise.resolve(row ? String(row.value) : null);
  }

  setIfMissing(key: string, value: string): Promise<string> {
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)").run(key, value);
    return this.get(key).then((v) => v!);
  }
}

class SqliteOAuthStateRepo implements OAuthStateRepo {
  constructor(private readonly db: DatabaseSync) {}

  put(state: string, data: string, expiresAt: number, now: number, max: number): Promise<boolean> {
    const stored = sqliteTransaction(this.db, () => {
      this.db.prepare("DELETE FROM oauth_states WHERE expires_at <= ?").run(now);
      const n = Number((this.db.prepare("SELECT COUNT(*) AS n FROM oauth_states").get() as Row).n);
      if (n >= max) return false;
      this.db.prepare("INSERT INTO oauth_states (state, data, expires_at) VALUES (?, ?, ?)").run(
        state,
        data,
        expiresAt,
      );
      return true;
    });
    return Promise.resolve(stored);
  }

  take(state: string): Promise<{ data: string; expiresAt: number } | null> {
    const row = this.db.prepare("DELETE FROM oauth_states WHERE state = ? RETURNING data, expires_at").get(
      state,
    ) as
      | Row
      | undefined;
    return Promise.resolve(row ? { data: String(row.data), expiresAt: Number(row.expires_at) } : null);
  }
}
