/**
 * Accounts and their call log, one implementation for SQLite and MySQL.
 *
 * Several requests (and, on MySQL, several instances) write the same rows, so the read-merge-write of
 * `other` (`patchOther`, a token refresh's `otherPatch`) happens in one transaction that first locks the
 * row: a concurrent merge waits for it instead of overwriting its keys. Every change to an account row
 * bumps the `accounts` change counter in the same transaction, so caches of the account list everywhere
 * see it; recording a call (the call log and `last_used_at`) does not, as nothing cached depends on it.
 */
import {
  ACCOUNT_PATCH_COLUMNS,
  accountPatchValue,
  NEW_ACCOUNT_COLUMNS,
  newAccountValues,
  parseOther,
  rowToAccount,
} from "./account_row.ts";
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlValue } from "./sql_executor.ts";
import type { StoreChangeLog } from "./store_change_log.ts";
import type {
  Account,
  AccountPatch,
  AccountRepo,
  AccountStats,
  AccountType,
  CallOutcome,
  NewAccount,
  TokenUpdate,
} from "./types.ts";

export class SqlAccountRepo implements AccountRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #changes: StoreChangeLog;
  #now: () => number;
  #newId: () => string;
  #accounts: string;
  #calls: string;

  constructor(
    db: SqlExecutor,
    dialect: SqlDialect,
    changes: StoreChangeLog,
    now: () => number,
    newId: () => string,
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#changes = changes;
    this.#now = now;
    this.#newId = newId;
    this.#accounts = dialect.table("accounts");
    this.#calls = dialect.table("account_calls");
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  async list(filter: { type?: AccountType; enabled?: boolean } = {}): Promise<Account[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.type) {
      where.push("type = ?");
      params.push(filter.type);
    }
    if (filter.enabled !== undefined) {
      where.push("enabled = ?");
      params.push(filter.enabled ? 1 : 0);
    }
    const rows = await this.#db.rows(
      `SELECT * FROM ${this.#accounts} ${
        where.length ? "WHERE " + where.join(" AND ") : ""
      } ORDER BY created_at DESC`,
      params,
    );
    return rows.map(rowToAccount);
  }

  async get(id: string): Promise<Account | null> {
    const [row] = await this.#db.rows(`SELECT * FROM ${this.#accounts} WHERE id = ?`, [id]);
    return row ? rowToAccount(row) : null;
  }

  async create(input: NewAccount): Promise<Account> {
    const id = this.#newId();
    const at = this.#iso();
    await this.#changes.write("accounts", (tx) =>
      tx.run(
        `INSERT INTO ${this.#accounts} (${NEW_ACCOUNT_COLUMNS.join(", ")}) VALUES (${
          NEW_ACCOUNT_COLUMNS.map(() => "?").join(", ")
        })`,
        newAccountValues(id, input, at),
      ));
    return (await this.get(id))!;
  }

  async update(id: string, patch: AccountPatch): Promise<Account | null> {
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const [key, value] of Object.entries(patch) as Array<[keyof AccountPatch, unknown]>) {
      if (value === undefined || !(key in ACCOUNT_PATCH_COLUMNS)) continue;
      sets.push(`\`${ACCOUNT_PATCH_COLUMNS[key]}\` = ?`);
      params.push(accountPatchValue(key, value));
    }
    if (sets.length > 0) {
      sets.push("updated_at = ?");
      params.push(this.#iso(), id);
      await this.#changes.write(
        "accounts",
        (tx) => tx.run(`UPDATE ${this.#accounts} SET ${sets.join(", ")} WHERE id = ?`, params),
      );
    }
    return this.get(id);
  }

  async patchOther(id: string, patch: Record<string, unknown>): Promise<void> {
    await this.#changes.write("accounts", async (tx) => {
      const [row] = await tx.rows(
        `SELECT other FROM ${this.#accounts} WHERE id = ?${this.#dialect.forUpdate}`,
        [id],
      );
      if (!row) return;
      const other = parseOther(row.other);
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete other[key];
        else other[key] = value;
      }
      await tx.run(`UPDATE ${this.#accounts} SET other = ?, updated_at = ? WHERE id = ?`, [
        JSON.stringify(other),
        this.#iso(),
        id,
      ]);
    });
  }

  delete(id: string): Promise<boolean> {
    return this.#changes.write(
      "accounts",
      async (tx) => (await tx.run(`DELETE FROM ${this.#accounts} WHERE id = ?`, [id])) > 0,
    );
  }

  async saveTokens(id: string, update: TokenUpdate): Promise<void> {
    const tokens = `accessToken = ?, refreshToken = COALESCE(?, refreshToken), token_expires_at = ?,
      last_refresh_time = ?, last_refresh_status = 'success', updated_at = ?`;
    const values: SqlValue[] = [
      update.accessToken,
      update.refreshToken ?? null,
      update.tokenExpiresAt,
      update.refreshedAt,
      this.#iso(),
    ];
    const otherPatch = update.otherPatch;
    await this.#changes.write("accounts", async (tx) => {
      if (!otherPatch || Object.keys(otherPatch).length === 0) {
        await tx.run(`UPDATE ${this.#accounts} SET ${tokens} WHERE id = ?`, [...values, id]);
        return;
      }
      const [row] = await tx.rows(
        `SELECT other FROM ${this.#accounts} WHERE id = ?${this.#dialect.forUpdate}`,
        [id],
      );
      if (!row) return;
      const other = { ...parseOther(row.other), ...otherPatch };
      await tx.run(`UPDATE ${this.#accounts} SET ${tokens}, other = ? WHERE id = ?`, [
        ...values,
        JSON.stringify(other),
        id,
      ]);
    });
  }

  async recordCall(id: string, outcome: CallOutcome, failureClass: string | null, at: number): Promise<void> {
    await this.#db.run(
      `INSERT INTO ${this.#calls} (account_id, at, outcome, failure_class) VALUES (?, ?, ?, ?)`,
      [id, at, outcome, failureClass],
    );
    await this.#db.run(`UPDATE ${this.#accounts} SET last_used_at = ? WHERE id = ?`, [at, id]);
  }

  async countCallsSince(id: string, since: number): Promise<number> {
    const [row] = await this.#db.rows(
      `SELECT COUNT(*) AS n FROM ${this.#calls} WHERE account_id = ? AND at >= ?`,
      [id, since],
    );
    return Number(row?.n ?? 0);
  }

  async countAllCallsSince(since: number): Promise<Map<string, number>> {
    const rows = await this.#db.rows(
      `SELECT account_id, COUNT(*) AS n FROM ${this.#calls} WHERE at >= ? GROUP BY account_id`,
      [since],
    );
    return new Map(rows.map((r) => [String(r.account_id), Number(r.n)]));
  }

  async stats(id: string, now: number): Promise<AccountStats> {
    const [counts] = await this.#db.rows(
      `SELECT COALESCE(SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END), 0) AS hour,
         COALESCE(SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END), 0) AS day
       FROM ${this.#calls} WHERE account_id = ?`,
      [now - 3_600_000, now - 86_400_000, id],
    );
    const rows = await this.#db.rows(
      `SELECT outcome, failure_class, COUNT(*) AS n FROM ${this.#calls} WHERE account_id = ?
       GROUP BY outcome, failure_class`,
      [id],
    );
    let successes = 0;
    let failures = 0;
    const byClass: Record<string, number> = {};
    for (const row of rows) {
      const n = Number(row.n);
      if (row.outcome === "success") successes += n;
      else {
        failures += n;
        const key = row.failure_class === null ? "unknown" : String(row.failure_class);
        byClass[key] = (byClass[key] ?? 0) + n;
      }
    }
    return {
      account_id: id,
      calls_last_hour: Number(counts?.hour ?? 0),
      calls_last_day: Number(counts?.day ?? 0),
      total_calls: successes + failures,
      successes,
      failures,
      failures_by_class: byClass,
    };
  }

  pruneCalls(before: number): Promise<number> {
    return this.#db.run(`DELETE FROM ${this.#calls} WHERE at < ?`, [before]);
  }

  async count(): Promise<{ total: number; enabled: number }> {
    const [row] = await this.#db.rows(
      `SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN enabled = 1 THEN 1 ELSE 0 END), 0) AS enabled
       FROM ${this.#accounts}`,
    );
    return { total: Number(row?.total ?? 0), enabled: Number(row?.enabled ?? 0) };
  }
}
