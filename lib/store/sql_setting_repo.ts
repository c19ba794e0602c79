/**
 * Accounting settings shared by every instance (the price table an admin edits, the learnt token
 * calibration), as JSON documents in the `meta` table under a `setting:` prefix. Unlike the installation
 * facts `SqlMetaRepo` keeps, these are overwritten; readers cache them for a short time.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { SettingRepo } from "./types.ts";

export class SqlSettingRepo implements SettingRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("meta");
  }

  async get(key: string): Promise<string | null> {
    const [row] = await this.#db.rows(`SELECT value FROM ${this.#table} WHERE \`key\` = ?`, [
      "setting:" + key,
    ]);
    return row ? String(row.value) : null;
  }

  async put(key: string, value: string): Promise<void> {
    const { sql, params } = this.#dialect.upsert(this.#table, { key: "setting:" + key, value }, ["key"]);
    await this.#db.run(sql, params);
  }
}
