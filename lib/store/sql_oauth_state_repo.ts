/**
 * Pending OAuth sign-ins, shared by every process on the database. Taking one reads and deletes it in one
 * transaction under a row lock, so two instances cannot both complete the same sign-in.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { OAuthStateRepo } from "./types.ts";

export class SqlOAuthStateRepo implements OAuthStateRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("oauth_states");
  }

  put(state: string, data: string, expiresAt: number, now: number, max: number): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      await tx.run(`DELETE FROM ${this.#table} WHERE expires_at <= ?`, [now]);
      const [row] = await tx.rows(`SELECT COUNT(*) AS n FROM ${this.#table}`);
      // On MySQL two instances may both pass the count at the edge; the cap is a guard against floods,
      // not an exact limit.
      if (Number(row?.n ?? 0) >= max) return false;
      await tx.run(`INSERT INTO ${this.#table} (state, data, expires_at) VALUES (?, ?, ?)`, [
        state,
        data,
        expiresAt,
      ]);
      return true;
    });
  }

  take(state: string): Promise<{ data: string; expiresAt: number } | null> {
    return this.#db.transaction(async (tx) => {
      const [row] = await tx.rows(
        `SELECT data, expires_at FROM ${this.#table} WHERE state = ?${this.#dialect.forUpdate}`,
        [state],
      );
      if (!row) return null;
      await tx.run(`DELETE FROM ${this.#table} WHERE state = ?`, [state]);
      return { data: String(row.data), expiresAt: Number(row.expires_at) };
    });
  }
}
