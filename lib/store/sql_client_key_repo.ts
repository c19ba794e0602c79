/**
 * Client keys, stored as digests. Creating and deleting a key bumps the `client_keys` change counter in the
 * same transaction (a revoked key stops working on every instance within the caches' bound); marking a key
 * used does not.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlRow } from "./sql_executor.ts";
import type { StoreChangeLog } from "./store_change_log.ts";
import type { ClientKey, ClientKeyRepo } from "./types.ts";

function toClientKey(row: SqlRow): ClientKey {
  return {
    id: String(row.id),
    label: row.label === null ? null : String(row.label),
    prefix: String(row.prefix),
    created_at: String(row.created_at),
    last_used_at: row.last_used_at === null ? null : String(row.last_used_at),
  };
}

export class SqlClientKeyRepo implements ClientKeyRepo {
  #db: SqlExecutor;
  #changes: StoreChangeLog;
  #iso: () => string;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect, changes: StoreChangeLog, iso: () => string) {
    this.#db = db;
    this.#changes = changes;
    this.#iso = iso;
    this.#table = dialect.table("client_keys");
  }

  async list(): Promise<ClientKey[]> {
    return (await this.#db.rows(`SELECT * FROM ${this.#table} ORDER BY created_at`)).map(toClientKey);
  }

  async create(id: string, keyHash: string, prefix: string, label: string | null): Promise<ClientKey> {
    await this.#changes.write("client_keys", (tx) =>
      tx.run(
        `INSERT INTO ${this.#table} (id, key_hash, prefix, label, created_at) VALUES (?, ?, ?, ?, ?)`,
        [id, keyHash, prefix, label, this.#iso()],
      ));
    const [row] = await this.#db.rows(`SELECT * FROM ${this.#table} WHERE id = ?`, [id]);
    return toClientKey(row!);
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
    return this.#changes.write(
      "client_keys",
      async (tx) => (await tx.run(`DELETE FROM ${this.#table} WHERE id = ?`, [id])) > 0,
    );
  }

  async count(): Promise<number> {
    const [row] = await this.#db.rows(`SELECT COUNT(*) AS n FROM ${this.#table}`);
    return Number(row?.n ?? 0);
  }
}
