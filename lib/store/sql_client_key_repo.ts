/**
 * Client keys, stored as digests, with their rules (enabled, expiry, allowed models and channels, limits).
 * Creating, changing and deleting a key bumps the `client_keys` change counter in the same transaction, so
 * a revoked key or a new limit is in force on every instance within the caches' bound; marking a key used
 * does not. Deleting a key also deletes its usage windows.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlRow, SqlValue } from "./sql_executor.ts";
import type { StoreChangeLog } from "./store_change_log.ts";
import type { ClientKey, ClientKeyRecord, ClientKeyRepo, ClientKeySettings } from "./types.ts";

function toClientKey(row: SqlRow): ClientKey {
  return {
    id: String(row.id),
    label: row.label === null ? null : String(row.label),
    prefix: String(row.prefix),
    created_at: String(row.created_at),
    last_used_at: row.last_used_at === null ? null : String(row.last_used_at),
  };
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** A JSON list column; anything unreadable is an empty list (no restriction would be worse than none, but
 * the column is only ever written by `update` from validated input). */
function list(value: unknown): string[] {
  if (value === null || value === undefined || value === "") return [];
  try {
    const parsed = JSON.parse(String(value));
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

function toRecord(row: SqlRow): ClientKeyRecord {
  return {
    ...toClientKey(row),
    key_hash: String(row.key_hash),
    enabled: row.enabled === null || row.enabled === undefined ? true : Number(row.enabled) !== 0,
    expires_at: numberOrNull(row.expires_at),
    allowed_models: list(row.allowed_models),
    allowed_channels: list(row.allowed_channels),
    requests_per_minute: numberOrNull(row.requests_per_minute),
    tokens_per_day: numberOrNull(row.tokens_per_day),
    tokens_per_month: numberOrNull(row.tokens_per_month),
    cost_per_day_micros: numberOrNull(row.cost_per_day_micros),
    cost_per_month_micros: numberOrNull(row.cost_per_month_micros),
    max_concurrency: numberOrNull(row.max_concurrency),
    note: row.note === null || row.note === undefined ? null : String(row.note),
    updated_at: row.updated_at === null || row.updated_at === undefined ? null : String(row.updated_at),
  };
}

/** Settings as column values (lists as JSON, the flag as 0/1). */
function settingColumns(settings: Partial<ClientKeySettings>): Record<string, SqlValue> {
  const columns: Record<string, SqlValue> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (name === "enabled") columns[name] = value ? 1 : 0;
    else if (name === "allowed_models" || name === "allowed_channels") columns[name] = JSON.stringify(value);
    else columns[name] = value as SqlValue;
  }
  return columns;
}

const SETTING_NAMES: ReadonlySet<string> = new Set([
  "enabled",
  "expires_at",
  "allowed_models",
  "allowed_channels",
  "requests_per_minute",
  "tokens_per_day",
  "tokens_per_month",
  "cost_per_day_micros",
  "cost_per_month_micros",
  "max_concurrency",
  "note",
]);

function onlySettings(input: Partial<ClientKeySettings>): Partial<ClientKeySettings> {
  return Object.fromEntries(Object.entries(input).filter(([name]) => SETTING_NAMES.has(name)));
}

export class SqlClientKeyRepo implements ClientKeyRepo {
  #db: SqlExecutor;
  #changes: StoreChangeLog;
  #iso: () => string;
  #table: string;
  #windows: string;

  constructor(db: SqlExecutor, dialect: SqlDialect, changes: StoreChangeLog, iso: () => string) {
    this.#db = db;
    this.#changes = changes;
    this.#iso = iso;
    this.#table = dialect.table("client_keys");
    this.#windows = dialect.table("key_usage_windows");
  }

  async list(): Promise<ClientKey[]> {
    return (await this.#db.rows(`SELECT * FROM ${this.#table} ORDER BY created_at`)).map(toClientKey);
  }

  async listRecords(): Promise<ClientKeyRecord[]> {
    return (await this.#db.rows(`SELECT * FROM ${this.#table} ORDER BY created_at, id`)).map(toRecord);
  }

  async get(id: string): Promise<ClientKeyRecord | null> {
    const [row] = await this.#db.rows(`SELECT * FROM ${this.#table} WHERE id = ?`, [id]);
    return row ? toRecord(row) : null;
  }

  async create(
    id: string,
    keyHash: string,
    prefix: string,
    label: string | null,
    settings: Partial<ClientKeySettings> = {},
  ): Promise<ClientKey> {
    const row: Record<string, SqlValue> = {
      id,
      key_hash: keyHash,
      prefix,
      label,
      created_at: this.#iso(),
      ...settingColumns(onlySettings(settings)),
    };
    const names = Object.keys(row);
    await this.#changes.write("client_keys", (tx) =>
      tx.run(
        `INSERT INTO ${this.#table} (${names.map((n) => `\`${n}\``).join(", ")}) VALUES (${
          names.map(() => "?").join(", ")
        })`,
        Object.values(row),
      ));
    const [stored] = await this.#db.rows(`SELECT * FROM ${this.#table} WHERE id = ?`, [id]);
    return toClientKey(stored!);
  }

  async update(
    id: string,
    patch: { label?: string | null } & Partial<ClientKeySettings>,
  ): Promise<ClientKeyRecord | null> {
    const columns = settingColumns(onlySettings(patch));
    if (patch.label !== undefined) columns.label = patch.label;
    columns.updated_at = this.#iso();
    const names = Object.keys(columns);
    const changed = await this.#changes.write("client_keys", (tx) =>
      tx.run(
        `UPDATE ${this.#table} SET ${names.map((n) => `\`${n}\` = ?`).join(", ")} WHERE id = ?`,
        [...Object.values(columns), id],
      ));
    return changed > 0 ? await this.get(id) : null;
  }

  async findByHash(keyHash: string): Promise<ClientKey | null> {
    const [row] = await this.#db.rows(`SELECT * FROM ${this.#table} WHERE key_hash = ?`, [keyHash]);
    if (!row) return null;
    await this.touch(String(row.id));
    return toClientKey(row);
  }

  async listDigests(): Promise<Array<{ id: string; keyHash: string }>> {
    const rows = await this.#db.rows(`SELECT id, key_hash FROM ${this.#table}`);
    return rows.map((row) => ({ id: String(row.id), keyHash: String(row.key_hash) }));
  }

  async touch(id: string): Promise<void> {
    await this.#db.run(`UPDATE ${this.#table} SET last_used_at = ? WHERE id = ?`, [this.#iso(), id]);
  }

  delete(id: string): Promise<boolean> {
    return this.#changes.write("client_keys", async (tx) => {
      await tx.run(`DELETE FROM ${this.#windows} WHERE key_id = ?`, [id]);
      return (await tx.run(`DELETE FROM ${this.#table} WHERE id = ?`, [id])) > 0;
    });
  }

  async count(): Promise<number> {
    const [row] = await this.#db.rows(`SELECT COUNT(*) AS n FROM ${this.#table}`);
    return Number(row?.n ?? 0);
  }
}
