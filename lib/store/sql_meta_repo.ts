/** Small facts about the installation (e.g. generated secrets), set once and never overwritten. */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { MetaRepo } from "./types.ts";

export class SqlMetaRepo implements MetaRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("meta");
  }

  async get(key: string): Promise<string | null> {
    const [row] = await this.#db.rows(`SELECT value FROM ${this.#table} WHERE \`key\` = ?`, [key]);
    return row ? String(row.value) : null;
  }

  async setIfMissing(key: string, value: string): Promise<string> {
    await this.#db.run(`${this.#dialect.insertIgnore} INTO ${this.#table} (\`key\`, value) VALUES (?, ?)`, [
      key,
      value,
    ]);
    return (await this.get(key))!;
  }
}
