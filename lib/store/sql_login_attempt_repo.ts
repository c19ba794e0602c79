/** Failed-login bookkeeping per client (rate window and lockout), written whole with one upsert. */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { LoginAttemptRepo, LoginAttempts } from "./types.ts";

export class SqlLoginAttemptRepo implements LoginAttemptRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("login_attempts");
  }

  async get(key: string): Promise<LoginAttempts | null> {
    const [row] = await this.#db.rows(`SELECT * FROM ${this.#table} WHERE \`key\` = ?`, [key]);
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
    const { sql, params } = this.#dialect.upsert(this.#table, {
      key: a.key,
      failures: a.failures,
      window_start: a.window_start,
      window_count: a.window_count,
      locked_until: a.locked_until,
    }, ["key"]);
    await this.#db.run(sql, params);
  }

  async clear(key: string): Promise<void> {
    await this.#db.run(`DELETE FROM ${this.#table} WHERE \`key\` = ?`, [key]);
  }
}
