/**
 * Versioned SQLite migrations, applied in order at start-up and tracked with `PRAGMA user_version`.
 *
 * Migration 1 creates the tables with their original names and columns where they exist
 * (`accounts`, `config`), so an existing amq2api database (see the README's migration section) is upgraded in place instead
 * of replaced: `CREATE TABLE IF NOT EXISTS` keeps its rows and migration 2 adds the columns it lacks.
 * Tables whose original shape was unsafe (plaintext session tokens, string timestamps compared as text)
 * get new names. Each migration runs in one transaction; a failed one leaves the version unchanged.
 */
import type { DatabaseSync } from "node:sqlite";
import { sqliteTransaction } from "./sqlite_transaction.ts";

type Migration = (db: DatabaseSync) => void;

function columns(db: DatabaseSync, table: string): Set<string> {
  const rows = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
  return new Set(rows.map((r) => r.name));
}

function addColumns(db: DatabaseSync, table: string, defs: Record<string, string>): void {
  const have = columns(db, table);
  for (const [name, def] of Object.entries(defs)) {
    if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${def}`);
  }
}

/** The hourly and the daily usage aggregates have one shape: `hour` is the bucket's start. */
function usageAggregateTable(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
        hour INTEGER NOT NULL,
        model TEXT NOT NULL,
        account_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        outcome TEXT NOT NULL,
        request_count INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_creation_input_tokens INTEGER NOT NULL,
        cache_read_input_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        unpriced_count INTEGER NOT NULL,
        cache_hits INTEGER NOT NULL,
        cache_misses INTEGER NOT NULL,
        ttfb_count INTEGER NOT NULL,
        ttfb_p50 REAL,
        ttfb_p95 REAL,
        PRIMARY KEY (hour, model, account_id, key_id, channel, outcome)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS idx_${name}_key ON ${name}(key_id, hour);`;
}

const MIGRATIONS: readonly Migration[] = [
  // 1: the original core tables.
  (db) => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS accounts (
        id TEXT PRIMARY KEY,
        label TEXT,
        clientId TEXT,
        clientSecret TEXT,
        refreshToken TEXT,
        accessToken TEXT,
        other TEXT,
        last_refresh_time TEXT,
        last_refresh_status TEXT,
        created_at TEXT,
        updated_at TEXT,
        enabled INTEGER DEFAULT 1
      );
      CREATE TABLE IF NOT EXISTS config (
        key TEXT PRIMARY KEY,
        value TEXT,
        updated_at TEXT
      );
    `);
  },
  // 2: our account columns (type/weight/rate limit exist in newer existing databases), state columns,
  // and the tables whose original shape we do not keep.
  (db) => {
    addColumns(db, "accounts", {
      type: "TEXT DEFAULT 'amazonq'",
      rate_limit_per_hour: "INTEGER DEFAULT 20",
      weight: "INTEGER DEFAULT 50",
      token_expires_at: "INTEGER",
      max_inflight: "INTEGER DEFAULT 0",
      disabled_reason: "TEXT",
      disabled_at: "INTEGER",
      cooldown_until: "INTEGER",
      parked_until: "INTEGER",
      last_error: "TEXT",
      last_used_at: "INTEGER",
    });
    db.exec(`
      UPDATE accounts SET last_refresh_status = 'never' WHERE last_refresh_status IS NULL;
      CREATE INDEX IF NOT EXISTS idx_accounts_type ON accounts(type, enabled);
      CREATE TABLE IF NOT EXISTS account_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        failure_class TEXT
      );
      CREATE INDEX IF NOT EXISTS idx_account_calls_account_at ON account_calls(account_id, at);
      CREATE INDEX IF NOT EXISTS idx_account_calls_at ON account_calls(at);
      CREATE TABLE IF NOT EXISTS client_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        label TEXT,
        created_at TEXT NOT NULL,
        last_used_at TEXT
      );
      CREATE TABLE IF NOT EXISTS admin_users (
        id TEXT PRIMARY KEY,
        username TEXT UNIQUE NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT,
        updated_at TEXT
      );
      -- An older admin row (same table) has a bcrypt hash we cannot verify: kept, it could never log in
      -- and would block setup for good. Dropped, the operator sets up again (or uses ADMIN_USERNAME).
      DELETE FROM admin_users WHERE password_hash NOT LIKE 'scrypt$%';
      CREATE TABLE IF NOT EXISTS admin_session_tokens (
        token_hash TEXT PRIMARY KEY,
        admin_id TEXT NOT NULL REFERENCES admin_users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS idx_admin_session_tokens_expires ON admin_session_tokens(expires_at);
      CREATE TABLE IF NOT EXISTS login_attempts (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        window_start INTEGER NOT NULL,
        window_count INTEGER NOT NULL,
        locked_until INTEGER
      );
      CREATE TABLE IF NOT EXISTS usage_records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT,
        model TEXT NOT NULL,
        channel TEXT NOT NULL,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS idx_usage_records_created ON usage_records(created_at);
      CREATE INDEX IF NOT EXISTS idx_usage_records_account ON usage_records(account_id, created_at);
      CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `);
  },
  // 3: pending OAuth sign-ins, shared by every process on the database (they were per instance).
  (db) => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS oauth_states (
        state TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS idx_oauth_states_expires ON oauth_states(expires_at);
    `);
  },
  // 4: change counters per cached area, so every process's caches notice writes made by the others.
  (db) => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS store_versions (
        area TEXT PRIMARY KEY,
        version INTEGER NOT NULL
      );
    `);
  },
  // 5: accounting. Usage records gain who/what/how (old rows read as successes with unknown sources), the
  // hourly aggregates they are rolled up into, and the prompt-cache simulation's shared entries.
  (db) => {
    addColumns(db, "usage_records", {
      key_id: "TEXT",
      upstream_model: "TEXT",
      request_id: "TEXT",
      cache_creation_1h_tokens: "INTEGER NOT NULL DEFAULT 0",
      input_source: "TEXT",
      cache_source: "TEXT",
      cost_usd: "REAL",
      cost_status: "TEXT",
      outcome: "TEXT NOT NULL DEFAULT 'success'",
      stop_reason: "TEXT",
      streamed: "INTEGER",
      ttfb_ms: "INTEGER",
      duration_ms: "INTEGER",
    });
    db.exec(`
      CREATE INDEX IF NOT EXISTS idx_usage_records_key ON usage_records(key_id, created_at);
      ${usageAggregateTable("usage_hourly")}
      -- Whole days of the hourly rows (hour is the start of the day). Both are clustered on their key, so a
      -- time range is read in place, without a lookup per row.
      ${usageAggregateTable("usage_daily")}
      CREATE TABLE IF NOT EXISTS cache_entries (
        key TEXT PRIMARY KEY,
        tokens INTEGER NOT NULL,
        ttl_ms INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        last_used INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS idx_cache_entries_expires ON cache_entries(expires_at);
      CREATE INDEX IF NOT EXISTS idx_cache_entries_last_used ON cache_entries(last_used);
    `);
  },
  // 6: client keys as tenants: their rules, and usage counters per key and fixed window.
  (db) => {
    addColumns(db, "client_keys", {
      enabled: "INTEGER NOT NULL DEFAULT 1",
      expires_at: "INTEGER",
      allowed_models: "TEXT",
      allowed_channels: "TEXT",
      requests_per_minute: "INTEGER",
      tokens_per_day: "INTEGER",
      tokens_per_month: "INTEGER",
      cost_per_day_micros: "INTEGER",
      cost_per_month_micros: "INTEGER",
      max_concurrency: "INTEGER",
      note: "TEXT",
      updated_at: "TEXT",
    });
    db.exec(`
      CREATE TABLE IF NOT EXISTS key_usage_windows (
        key_id TEXT NOT NULL,
        window_kind TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0,
        tokens INTEGER NOT NULL DEFAULT 0,
        cost_micros INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key_id, window_kind, window_start)
      );
    `);
  },
  // 7: a failed request's error message in its usage record, for the console's request log.
  (db) => addColumns(db, "usage_records", { error_message: "TEXT" }),
];

/** The schema version after all migrations. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations the database has not seen yet; returns the resulting version. */
export function migrateSqlite(db: DatabaseSync): number {
  const current = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this server (${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    sqliteTransaction(db, () => {
      MIGRATIONS[version]!(db);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
  return MIGRATIONS.length;
}
