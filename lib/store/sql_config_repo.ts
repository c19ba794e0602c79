/**
 * The `config` table (runtime routing settings) as a key -> JSON value map. Writes bump the `config` change
 * counter in their transaction, so every instance's cached routing config follows within its bound.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { StoreChangeLog } from "./store_change_log.ts";
import type { ConfigRepo } from "./types.ts";

function parseConfigValue(raw: unknown): unknown {
  const text = String(raw);
  try {
    return JSON.parse(text);
  } catch {
    // A value written by an older version as a bare string.
    return text;
  }
}

export class SqlConfigRepo implements ConfigRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #changes: StoreChangeLog;
  #iso: () => string;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect, changes: StoreChangeLog, iso: () => string) {
    this.#db = db;
    this.#dialect = dialect;
    this.#changes = changes;
    this.#iso = iso;
    this.#table = dialect.table("config");
  }

  async getAll(): Promise<Record<string, unknown>> {
    const rows = await this.#db.rows(`SELECT \`key\`, value FROM ${this.#table}`);
    const out: Record<string, unknown> = {};
    for (const row of rows) out[String(row.key)] = parseConfigValue(row.value);
    return out;
  }

  async putMany(entries: Record<string, unknown>): Promise<void> {
    if (Object.keys(entries).length === 0) return;
    await this.#changes.write("config", async (tx) => {
      for (const [key, value] of Object.entries(entries)) {
        const { sql, params } = this.#dialect.upsert(
          this.#table,
          { key, value: JSON.stringify(value), updated_at: this.#iso() },
          ["key"],
        );
        await tx.run(sql, params);
      }
    });
  }

  async seed(defaults: Record<string, unknown>): Promise<void> {
    const entries = Object.entries(defaults);
    if (entries.length === 0) return;
    const at = this.#iso();
    // One statement: another instance seeding at the same moment cannot interleave, and a key that
    // exists (an operator's value) is never overwritten.
    await this.#changes.write("config", (tx) =>
      tx.run(
        `${this.#dialect.insertIgnore} INTO ${this.#table} (\`key\`, value, updated_at) VALUES ${
          entries.map(() => "(?, ?, ?)").join(", ")
        }`,
        entries.flatMap(([key, value]) => [key, JSON.stringify(value), at]),
      ));
  }
}
