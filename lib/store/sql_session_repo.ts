/** Admin sessions, keyed by the digest of the session token (the token itself is never stored). */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { AdminSession, SessionRepo } from "./types.ts";

export class SqlSessionRepo implements SessionRepo {
  #db: SqlExecutor;
  #table: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#table = dialect.table("admin_session_tokens");
  }

  async create(session: AdminSession): Promise<void> {
    await this.#db.run(
      `INSERT INTO ${this.#table} (token_hash, admin_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
      [session.token_hash, session.admin_id, session.created_at, session.expires_at],
    );
  }

  async get(tokenHash: string): Promise<AdminSession | null> {
    const [row] = await this.#db.rows(`SELECT * FROM ${this.#table} WHERE token_hash = ?`, [tokenHash]);
    if (!row) return null;
    return {
      token_hash: String(row.token_hash),
      admin_id: String(row.admin_id),
      created_at: Number(row.created_at),
      expires_at: Number(row.expires_at),
    };
  }

  async delete(tokenHash: string): Promise<void> {
    await this.#db.run(`DELETE FROM ${this.#table} WHERE token_hash = ?`, [tokenHash]);
  }

  deleteExpired(now: number): Promise<number> {
    return this.#db.run(`DELETE FROM ${this.#table} WHERE expires_at <= ?`, [now]);
  }
}
