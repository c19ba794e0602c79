/**
 * Admin users. The first admin is created by a check-then-insert that runs exclusively (one SQLite write
 * transaction; a MySQL server lock, because under REPEATABLE READ two transactions could both see an empty
 * table), so two setups racing, on one instance or several, create one admin.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlRow } from "./sql_executor.ts";
import type { AdminRepo, AdminUser } from "./types.ts";

function toAdmin(row: SqlRow): AdminUser {
  return { id: String(row.id), username: String(row.username), password_hash: String(row.password_hash) };
}

export class SqlAdminRepo implements AdminRepo {
  #db: SqlExecutor;
  #iso: () => string;
  #table: string;
  #lock: string;

  constructor(db: SqlExecutor, dialect: SqlDialect, iso: () => string) {
    this.#db = db;
    this.#iso = iso;
    this.#table = dialect.table("admin_users");
    this.#lock = dialect.table("admin_setup");
  }

  async count(): Promise<number> {
    const [row] = await this.#db.rows(`SELECT COUNT(*) AS n FROM ${this.#table}`);
    return Number(row?.n ?? 0);
  }

  createFirst(user: AdminUser): Promise<boolean> {
    return this.#db.exclusive(this.#lock, async (db) => {
      const [row] = await db.rows(`SELECT COUNT(*) AS n FROM ${this.#table}`);
      if (Number(row?.n ?? 0) > 0) return false;
      await db.run(
        `INSERT INTO ${this.#table} (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
        [user.id, user.username, user.password_hash, this.#iso(), this.#iso()],
      );
      return true;
    });
  }

  async findByUsername(username: string): Promise<AdminUser | null> {
    const [row] = await this.#db.rows(
      `SELECT id, username, password_hash FROM ${this.#table} WHERE username = ?`,
      [username],
    );
    return row ? toAdmin(row) : null;
  }

  async get(id: string): Promise<AdminUser | null> {
    const [row] = await this.#db.rows(`SELECT id, username, password_hash FROM ${this.#table} WHERE id = ?`, [
      id,
    ]);
    return row ? toAdmin(row) : null;
  }
}
