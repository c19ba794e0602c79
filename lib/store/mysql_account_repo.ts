/**
 * Accounts and their call log in MySQL, with the semantics of `sqlite_account_repo.ts`.
 *
 * Several instances write the same rows, so the read-merge-write of `other` (`patchOther`, a token
 * refresh's `otherPatch`) happens in one transaction that first locks the row (`SELECT ... FOR UPDATE`):
 * a concurrent merge waits for it instead of overwriting its keys. Plain column updates need no lock.
 */
import type { Pool } from "mysql2/promise";
import {
  ACCOUNT_PATCH_COLUMNS,
  accountPatchValue,
  NEW_ACCOUNT_COLUMNS,
  newAccountValues,
  parseOther,
  rowToAccount,
} from "./account_row.ts";
import { mysqlExec, mysqlRows, mysqlTransaction, type MysqlValue } from "./mysql_query.ts";
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

export class MysqlAccountRepo implements AccountRepo {
  #pool: Pool;
  #now: () => number;
  #newId: () => string;

  constructor(pool: Pool, now: () => number, newId: () => string) {
    this.#pool = pool;
    this.#now = now;
    this.#newId = newId;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  async list(filter: { type?: AccountType; enabled?: boolean } = {}): Promise<Account[]> {
    const where: string[] = [];
    const params: MysqlValue[] = [];
    if (filter.type) {
      where.push("type = ?");
      params.push(filter.type);
    }
    if (filter.enabled !== undefined) {
      where.push("enabled = ?");
      params.push(filter.enabled ? 1 : 0);
    }
    const rows = await mysqlRows(
      this.#pool,
      `SELECT * FROM amq2api_accounts ${
        where.length ? "WHERE " + where.join(" AND ") : ""
      } ORDER BY created_at DESC`,
      params,
    );
    return rows.map(rowToAccount);
  }

  async get(id: string): Promise<Account | null> {
    const [row] = await mysqlRows(this.#pool, "SELECT * FROM amq2api_accounts WHERE id = ?", [id]);
    return row ? rowToAccount(row) : null;
  }

  async create(input: NewAccount): Promise<Account> {
    const id = this.#newId();
    const at = this.#iso();
    await mysqlExec(
      this.#pool,
      `INSERT INTO amq2api_accounts (${NEW_ACCOUNT_COLUMNS.join(", ")}) VALUES (${
        NEW_ACCOUNT_COLUMNS.map(() => "?").join(", ")
      })`,
      newAccountValues(id, input, at),
    );
    return (await this.get(id))!;
  }

  async update(id: string, patch: AccountPatch): Promise<Account | null> {
    const sets: string[] = [];
    const params: MysqlValue[] = [];
    for (const [key, value] of Object.entries(patch) as Array<[keyof AccountPatch, unknown]>) {
      if (value === undefined || !(key in ACCOUNT_PATCH_COLUMNS)) continue;
      sets.push(`\`${ACCOUNT_PATCH_COLUMNS[key]}\` = ?`);
      params.push(accountPatchValue(key, value));
    }
    if (sets.length > 0) {
      sets.push("updated_at = ?");
      params.push(this.#iso(), id);
      await mysqlExec(this.#pool, `UPDATE amq2api_accounts SET ${sets.join(", ")} WHERE id = ?`, params);
    }
    return this.get(id);
  }

  async patchOther(id: string, patch: Record<string, unknown>): Promise<void> {
    await mysqlTransaction(this.#pool, async (conn) => {
      const [row] = await mysqlRows(conn, "SELECT other FROM amq2api_accounts WHERE id = ? FOR UPDATE", [id]);
      if (!row) return;
      const other = parseOther(row.other);
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete other[key];
        else other[key] = value;
      }
      await mysqlExec(conn, "UPDATE amq2api_accounts SET other = ?, updated_at = ? WHERE id = ?", [
        JSON.stringify(other),
        this.#iso(),
        id,
      ]);
    });
  }

  async delete(id: string): Promise<boolean> {
    const result = await mysqlExec(this.#pool, "DELETE FROM amq2api_accounts WHERE id = ?", [id]);
    return result.affectedRows > 0;
  }

  async saveTokens(id: string, update: TokenUpdate): Promise<void> {
    const tokens = `accessToken = ?, refreshToken = COALESCE(?, refreshToken), token_expires_at = ?,
      last_refresh_time = ?, last_refresh_status = 'success', updated_at = ?`;
    const values: MysqlValue[] = [
      update.accessToken,
      update.refreshToken ?? null,
      update.tokenExpiresAt,
      update.refreshedAt,
      this.#iso(),
    ];
    if (!update.otherPatch || Object.keys(update.otherPatch).length === 0) {
      await mysqlExec(this.#pool, `UPDATE amq2api_accounts SET ${tokens} WHERE id = ?`, [...values, id]);
      return;
    }
    const otherPatch = update.otherPatch;
    await mysqlTransaction(this.#pool, async (conn) => {
      const [row] = await mysqlRows(conn, "SELECT other FROM amq2api_accounts WHERE id = ? FOR UPDATE", [id]);
      if (!row) return;
      const other = { ...parseOther(row.other), ...otherPatch };
      await mysqlExec(conn, `UPDATE amq2api_accounts SET ${tokens}, other = ? WHERE id = ?`, [
        ...values,
        JSON.stringify(other),
        id,
      ]);
    });
  }

  async recordCall(id: string, outcome: CallOutcome, failureClass: string | null, at: number): Promise<void> {
    await mysqlExec(
      this.#pool,
      "INSERT INTO amq2api_account_calls (account_id, at, outcome, failure_class) VALUES (?, ?, ?, ?)",
      [id, at, outcome, failureClass],
    );
    await mysqlExec(this.#pool, "UPDATE amq2api_accounts SET last_used_at = ? WHERE id = ?", [at, id]);
  }

  async countCallsSince(id: string, since: number): Promise<number> {
    const [row] = await mysqlRows(
      this.#pool,
      "SELECT COUNT(*) AS n FROM amq2api_account_calls WHERE account_id = ? AND at >= ?",
      [id, since],
    );
    return Number(row?.n ?? 0);
  }

  async countAllCallsSince(since: number): Promise<Map<string, number>> {
    const rows = await mysqlRows(
      this.#pool,
      "SELECT account_id, COUNT(*) AS n FROM amq2api_account_calls WHERE at >= ? GROUP BY account_id",
      [since],
    );
    return new Map(rows.map((r) => [String(r.account_id), Number(r.n)]));
  }

  async stats(id: string, now: number): Promise<AccountStats> {
    const [counts] = await mysqlRows(
      this.#pool,
      `SELECT COALESCE(SUM(at >= ?), 0) AS hour, COALESCE(SUM(at >= ?), 0) AS day
       FROM amq2api_account_calls WHERE account_id = ?`,
      [now - 3_600_000, now - 86_400_000, id],
    );
    const rows = await mysqlRows(
      this.#pool,
      `SELECT outcome, failure_class, COUNT(*) AS n FROM amq2api_account_calls WHERE account_id = ?
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

  async pruneCalls(before: number): Promise<number> {
    const result = await mysqlExec(this.#pool, "DELETE FROM amq2api_account_calls WHERE at < ?", [before]);
    return result.affectedRows;
  }

  async count(): Promise<{ total: number; enabled: number }> {
    const [row] = await mysqlRows(
      this.#pool,
      "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN enabled = 1 THEN 1 ELSE 0 END), 0) AS enabled FROM amq2api_accounts",
    );
    return { total: Number(row?.total ?? 0), enabled: Number(row?.enabled ?? 0) };
  }
}
