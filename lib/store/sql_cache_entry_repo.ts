/**
 * The prompt-cache simulation's entries, shared by every instance on the database: a prefix digest (already
 * scoped to one client key and model), its token count, lifetime, expiry and last use. Never prompt text.
 *
 * A request reads once (every digest its breakpoints can reach, one `IN` query) and writes once (one
 * multi-row upsert). The table is bounded by `prune`, run by the periodic job: expired entries go, then the
 * least recently used beyond the row cap (those are evictions, counted in the `meta` table so every
 * instance reports the same number).
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import type { CacheEntryRepo } from "./types.ts";

const EVICTIONS_KEY = "cache_evictions";

export class SqlCacheEntryRepo implements CacheEntryRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;
  #meta: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("cache_entries");
    this.#meta = dialect.table("meta");
  }

  async lookup(keys: readonly string[], now: number) {
    if (keys.length === 0) return [];
    const rows = await this.#db.rows(
      `SELECT \`key\`, tokens, ttl_ms, expires_at FROM ${this.#table}
       WHERE \`key\` IN (${keys.map(() => "?").join(", ")}) AND expires_at > ?`,
      [...keys, now],
    );
    return rows.map((r) => ({
      key: String(r.key),
      tokens: Number(r.tokens),
      ttlMs: Number(r.ttl_ms),
      expiresAt: Number(r.expires_at),
    }));
  }

  async upsert(
    entries: ReadonlyArray<{ key: string; tokens: number; ttlMs: number; expiresAt: number }>,
    now: number,
  ): Promise<void> {
    if (entries.length === 0) return;
    const values = entries.map(() => "(?, ?, ?, ?, ?)").join(", ");
    const params = entries.flatMap((e) => [e.key, e.tokens, e.ttlMs, e.expiresAt, now]);
    const insert =
      `INSERT INTO ${this.#table} (\`key\`, tokens, ttl_ms, expires_at, last_used) VALUES ${values}`;
    // Another instance may have refreshed the same entry meanwhile: keep the later expiry.
    const sql = this.#dialect.kind === "sqlite"
      ? `${insert} ON CONFLICT(\`key\`) DO UPDATE SET tokens = excluded.tokens, ttl_ms = excluded.ttl_ms,
           expires_at = MAX(expires_at, excluded.expires_at), last_used = excluded.last_used`
      // A multi-row upsert needs `VALUES(col)`: deprecated in MySQL 8 but still accepted, and MariaDB's
      // only spelling (it has no row alias).
      : `${insert} ON DUPLICATE KEY UPDATE tokens = VALUES(tokens), ttl_ms = VALUES(ttl_ms),
           expires_at = GREATEST(expires_at, VALUES(expires_at)), last_used = VALUES(last_used)`;
    await this.#db.run(sql, params);
  }

  async stats(now: number): Promise<{ entries: number; evictions: number }> {
    const [row] = await this.#db.rows(`SELECT COUNT(*) AS n FROM ${this.#table} WHERE expires_at > ?`, [now]);
    const [ev] = await this.#db.rows(`SELECT value FROM ${this.#meta} WHERE \`key\` = ?`, [EVICTIONS_KEY]);
    return { entries: Number(row?.n ?? 0), evictions: Number(ev?.value ?? 0) };
  }

  async prune(now: number, maxEntries: number): Promise<{ expired: number; evicted: number }> {
    const expired = await this.#db.run(`DELETE FROM ${this.#table} WHERE expires_at <= ?`, [now]);
    const [row] = await this.#db.rows(`SELECT COUNT(*) AS n FROM ${this.#table}`);
    const excess = Number(row?.n ?? 0) - maxEntries;
    if (excess <= 0) return { expired, evicted: 0 };
    // Least recently used first, in batches (a cut by time alone would also take every tie).
    let evicted = 0;
    while (evicted < excess) {
      const keys = (await this.#db.rows(
        `SELECT \`key\` FROM ${this.#table} ORDER BY last_used ASC, expires_at ASC LIMIT ?`,
        [Math.min(1000, excess - evicted)],
      )).map((r) => String(r.key));
      if (keys.length === 0) break;
      evicted += await this.#db.run(
        `DELETE FROM ${this.#table} WHERE \`key\` IN (${keys.map(() => "?").join(", ")})`,
        keys,
      );
    }
    await this.#db.transaction(async (tx) => {
      const [ev] = await tx.rows(
        `SELECT value FROM ${this.#meta} WHERE \`key\` = ?${this.#dialect.forUpdate}`,
        [
          EVICTIONS_KEY,
        ],
      );
      const { sql, params } = this.#dialect.upsert(
        this.#meta,
        { key: EVICTIONS_KEY, value: String(Number(ev?.value ?? 0) + evicted) },
        ["key"],
      );
      await tx.run(sql, params);
    });
    return { expired, evicted };
  }
}
