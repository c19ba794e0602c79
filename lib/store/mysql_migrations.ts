/**
 * Versioned MySQL/MariaDB migrations, the counterpart of `sqlite_migrations.ts`: InnoDB tables in utf8mb4,
 * every name prefixed `amq2api_` (existing amq2api databases use those names), the version kept
 * in the one-row table `amq2api_schema_version`.
 *
 * Several instances may start at once against one database, so the whole run holds the server lock
 * `GET_LOCK('amq2api_migrate', 30)`: the second instance waits, then finds nothing left to do. MySQL
 * commits DDL implicitly, so a migration cannot be rolled back; each one is written to be re-runnable
 * instead (create-if-missing, add a column or index only when `information_schema` lacks it) and the
 * version moves only after it succeeded. Migration 1 is the original shape (`amq2api_accounts`,
 * `amq2api_config`), so an existing database is upgraded in place, keeping its rows; migration 2 adds the
 * same columns and tables as SQLite migration 2.
 *
 * Our tables compare text byte for byte (`utf8mb4_bin`), as SQLite does: client-key digests, usernames and
 * config keys that differ only in case are different keys. Columns that refer to a table an existing
 * database may already hold copy that table's id type and collation, or InnoDB refuses the foreign key.
 */
import type { Pool, PoolConnection } from "mysql2/promise";
import { mysqlExec, mysqlRows, mysqlWithNamedLock } from "./mysql_query.ts";

type Migration = (conn: PoolConnection) => Promise<void>;

const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
const MIGRATE_LOCK = "amq2api_migrate";
const MIGRATE_LOCK_WAIT_SECONDS = 30;

async function columnsOf(conn: PoolConnection, table: string): Promise<Map<string, string>> {
  const rows = await mysqlRows(
    conn,
    "SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  return new Map(rows.map((r) => [String(r.name), String(r.type).toLowerCase()]));
}

async function addColumns(conn: PoolConnection, table: string, defs: Record<string, string>): Promise<void> {
  const have = await columnsOf(conn, table);
  for (const [name, def] of Object.entries(defs)) {
    if (!have.has(name)) await mysqlExec(conn, `ALTER TABLE ${table} ADD COLUMN \`${name}\` ${def}`);
  }
}

async function addIndex(conn: PoolConnection, table: string, name: string, columns: string): Promise<void> {
  const rows = await mysqlRows(
    conn,
    "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1",
    [table, name],
  );
  if (rows.length === 0) await mysqlExec(conn, `CREATE INDEX ${name} ON ${table} (${columns})`);
}

/** The type of `table.id` as a column definition, for a foreign key to it (same length, charset, collation). */
async function idColumnType(conn: PoolConnection, table: string): Promise<string> {
  const [row] = await mysqlRows(
    conn,
    `SELECT COLUMN_TYPE AS type, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'id'`,
    [table],
  );
  if (!row) throw new Error(`migration: table ${table} has no id column`);
  return row.charset ? `${row.type} CHARACTER SET ${row.charset} COLLATE ${row.collation}` : String(row.type);
}

const MIGRATIONS: readonly Migration[] = [
  // 1: the original core tables (existing MySQL databases always had `type`; `weight` and
  // `rate_limit_per_hour` came later and are added by migration 2 where missing).
  async (conn) => {
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_accounts (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        label VARCHAR(255),
        clientId VARCHAR(255),
        clientSecret TEXT,
        refreshToken TEXT,
        accessToken TEXT,
        other LONGTEXT,
        last_refresh_time VARCHAR(32),
        last_refresh_status VARCHAR(32),
        created_at VARCHAR(32),
        updated_at VARCHAR(32),
        enabled TINYINT DEFAULT 1,
        type VARCHAR(32) DEFAULT 'amazonq',
        rate_limit_per_hour INT DEFAULT 20,
        weight INT DEFAULT 50
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_config (
        \`key\` VARCHAR(128) NOT NULL PRIMARY KEY,
        value LONGTEXT,
        updated_at VARCHAR(32)
      ) ${TABLE_OPTIONS}`,
    );
  },
  // 2: our account columns and the tables whose original shape we do not keep (as SQLite migration 2).
  async (conn) => {
    await addColumns(conn, "amq2api_accounts", {
      type: "VARCHAR(32) DEFAULT 'amazonq'",
      rate_limit_per_hour: "INT DEFAULT 20",
      weight: "INT DEFAULT 50",
      token_expires_at: "BIGINT",
      max_inflight: "INT DEFAULT 0",
      disabled_reason: "TEXT",
      disabled_at: "BIGINT",
      cooldown_until: "BIGINT",
      parked_until: "BIGINT",
      last_error: "TEXT",
      last_used_at: "BIGINT",
    });
    // An existing database's VARCHAR(255) is shorter than the client ids we accept (2,000 characters); strict mode
    // would refuse the row where SQLite stores it.
    if ((await columnsOf(conn, "amq2api_accounts")).get("clientId") === "varchar") {
      await mysqlExec(conn, "ALTER TABLE amq2api_accounts MODIFY clientId TEXT");
    }
    await mysqlExec(
      conn,
      "UPDATE amq2api_accounts SET last_refresh_status = 'never' WHERE last_refresh_status IS NULL",
    );
    await addIndex(conn, "amq2api_accounts", "idx_accounts_type", "type, enabled");
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_account_calls (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        account_id ${await idColumnType(conn, "amq2api_accounts")} NOT NULL,
        at BIGINT NOT NULL,
        outcome VARCHAR(16) NOT NULL,
        failure_class VARCHAR(64),
        INDEX idx_account_calls_account_at (account_id, at),
        INDEX idx_account_calls_at (at),
        CONSTRAINT fk_amq2api_account_calls_account FOREIGN KEY (account_id)
          REFERENCES amq2api_accounts (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_client_keys (
        id VARCHAR(64) NOT NULL PRIMARY KEY,
        key_hash VARCHAR(255) NOT NULL,
        prefix VARCHAR(64) NOT NULL,
        label TEXT,
        created_at VARCHAR(32) NOT NULL,
        last_used_at VARCHAR(32),
        UNIQUE KEY uq_client_keys_hash (key_hash)
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_admin_users (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        username VARCHAR(50) NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        created_at VARCHAR(32),
        updated_at VARCHAR(32),
        UNIQUE KEY uq_admin_users_username (username)
      ) ${TABLE_OPTIONS}`,
    );
    // An older admin row (same table) has a bcrypt hash we cannot verify: kept, it could never log in
    // and would block setup for good. Dropped, the operator sets up again (or uses ADMIN_USERNAME).
    await mysqlExec(conn, "DELETE FROM amq2api_admin_users WHERE password_hash NOT LIKE 'scrypt$%'");
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_admin_session_tokens (
        token_hash VARCHAR(255) NOT NULL PRIMARY KEY,
        admin_id ${await idColumnType(conn, "amq2api_admin_users")} NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        INDEX idx_admin_session_tokens_expires (expires_at),
        CONSTRAINT fk_amq2api_admin_session_tokens_admin FOREIGN KEY (admin_id)
          REFERENCES amq2api_admin_users (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_login_attempts (
        \`key\` VARCHAR(255) NOT NULL PRIMARY KEY,
        failures INT NOT NULL,
        window_start BIGINT NOT NULL,
        window_count INT NOT NULL,
        locked_until BIGINT
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_usage_records (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        account_id VARCHAR(64),
        model TEXT NOT NULL,
        channel VARCHAR(32) NOT NULL,
        input_tokens BIGINT NOT NULL DEFAULT 0,
        output_tokens BIGINT NOT NULL DEFAULT 0,
        cache_creation_input_tokens BIGINT NOT NULL DEFAULT 0,
        cache_read_input_tokens BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        INDEX idx_usage_records_created (created_at),
        INDEX idx_usage_records_account (account_id, created_at)
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_leases (
        name VARCHAR(255) NOT NULL PRIMARY KEY,
        holder VARCHAR(255) NOT NULL,
        expires_at BIGINT NOT NULL
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_meta (
        \`key\` VARCHAR(255) NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
      ) ${TABLE_OPTIONS}`,
    );
  },
  // 3: pending OAuth sign-ins, shared by every instance (they were per instance).
  async (conn) => {
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_oauth_states (
        state VARCHAR(128) NOT NULL PRIMARY KEY,
        data TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        INDEX idx_oauth_states_expires (expires_at)
      ) ${TABLE_OPTIONS}`,
    );
  },
  // 4: change counters per cached area, so every instance's caches notice writes made by the others.
  async (conn) => {
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_store_versions (
        area VARCHAR(32) NOT NULL PRIMARY KEY,
        version BIGINT NOT NULL
      ) ${TABLE_OPTIONS}`,
    );
  },
  // 5: accounting (see SQLite migration 5): usage record columns, hourly aggregates, prompt-cache entries.
  async (conn) => {
    await addColumns(conn, "amq2api_usage_records", {
      key_id: "VARCHAR(64)",
      upstream_model: "VARCHAR(255)",
      request_id: "VARCHAR(64)",
      cache_creation_1h_tokens: "BIGINT NOT NULL DEFAULT 0",
      input_source: "VARCHAR(16)",
      cache_source: "VARCHAR(16)",
      cost_usd: "DOUBLE",
      cost_status: "VARCHAR(16)",
      outcome: "VARCHAR(32) NOT NULL DEFAULT 'success'",
      stop_reason: "VARCHAR(32)",
      streamed: "TINYINT",
      ttfb_ms: "INT",
      duration_ms: "INT",
    });
    await addIndex(conn, "amq2api_usage_records", "idx_usage_records_key", "key_id, created_at");
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_usage_hourly (
        hour BIGINT NOT NULL,
        model VARCHAR(255) NOT NULL,
        account_id VARCHAR(64) NOT NULL,
        key_id VARCHAR(64) NOT NULL,
        channel VARCHAR(32) NOT NULL,
        outcome VARCHAR(32) NOT NULL,
        request_count BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_creation_input_tokens BIGINT NOT NULL,
        cache_read_input_tokens BIGINT NOT NULL,
        cost_usd DOUBLE NOT NULL,
        unpriced_count BIGINT NOT NULL,
        cache_hits BIGINT NOT NULL,
        cache_misses BIGINT NOT NULL,
        ttfb_count BIGINT NOT NULL,
        ttfb_p50 DOUBLE,
        ttfb_p95 DOUBLE,
        PRIMARY KEY (hour, model, account_id, key_id, channel, outcome),
        INDEX idx_usage_hourly_key (key_id, hour)
      ) ${TABLE_OPTIONS}`,
    );
    // Whole days of the hourly rows, for day buckets over long ranges (`hour` is the day's start).
    await mysqlExec(conn, "CREATE TABLE IF NOT EXISTS amq2api_usage_daily LIKE amq2api_usage_hourly");
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_cache_entries (
        \`key\` CHAR(32) NOT NULL PRIMARY KEY,
        tokens BIGINT NOT NULL,
        ttl_ms BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        last_used BIGINT NOT NULL,
        INDEX idx_cache_entries_expires (expires_at),
        INDEX idx_cache_entries_last_used (last_used)
      ) ${TABLE_OPTIONS}`,
    );
  },
  // 6: client keys as tenants: their rules, and usage counters per key and fixed window.
  async (conn) => {
    await addColumns(conn, "amq2api_client_keys", {
      enabled: "TINYINT NOT NULL DEFAULT 1",
      expires_at: "BIGINT NULL",
      allowed_models: "TEXT NULL",
      allowed_channels: "TEXT NULL",
      requests_per_minute: "BIGINT NULL",
      tokens_per_day: "BIGINT NULL",
      tokens_per_month: "BIGINT NULL",
      cost_per_day_micros: "BIGINT NULL",
      cost_per_month_micros: "BIGINT NULL",
      max_concurrency: "INT NULL",
      note: "TEXT NULL",
      updated_at: "VARCHAR(32) NULL",
    });
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_key_usage_windows (
        key_id VARCHAR(64) NOT NULL,
        window_kind VARCHAR(8) NOT NULL,
        window_start BIGINT NOT NULL,
        requests BIGINT NOT NULL DEFAULT 0,
        tokens BIGINT NOT NULL DEFAULT 0,
        cost_micros BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (key_id, window_kind, window_start)
      ) ${TABLE_OPTIONS}`,
    );
  },
  // 7: a failed request's error message in its usage record (as SQLite migration 7).
  async (conn) => {
    await addColumns(conn, "amq2api_usage_records", { error_message: "TEXT NULL" });
  },
];

/** The schema version after all migrations. */
export const MYSQL_SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations the database has not seen yet, under the migration lock; returns the version. */
export function migrateMysql(pool: Pool): Promise<number> {
  return mysqlWithNamedLock(pool, MIGRATE_LOCK, MIGRATE_LOCK_WAIT_SECONDS, async (conn) => {
    // The version is read only once the lock is held: an instance that waited sees the other's work.
    await mysqlExec(
      conn,
      `CREATE TABLE IF NOT EXISTS amq2api_schema_version (
        id TINYINT NOT NULL PRIMARY KEY,
        version INT NOT NULL
      ) ${TABLE_OPTIONS}`,
    );
    await mysqlExec(conn, "INSERT IGNORE INTO amq2api_schema_version (id, version) VALUES (1, 0)");
    const [row] = await mysqlRows(conn, "SELECT version FROM amq2api_schema_version WHERE id = 1");
    const current = Number(row?.version ?? 0);
    if (current > MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this server (${MIGRATIONS.length})`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      await MIGRATIONS[version]!(conn);
      await mysqlExec(conn, "UPDATE amq2api_schema_version SET version = ? WHERE id = 1", [version + 1]);
    }
    return MIGRATIONS.length;
  });
}
