/**
 * Accounts and their call log in SQLite.
 *
 * Statements are prepared once. Token refreshes write the access token, a rotated refresh token and the
 * expiry in one statement; `patchOther` merges keys inside one transaction, so a request-path update and an
 * admin edit never overwrite each other's keys.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import {
  ACCOUNT_PATCH_COLUMNS,
  accountPatchValue,
  NEW_ACCOUNT_COLUMNS,
  newAccountValues,
  parseOther,
  rowToAccount,
} from "./account_row.ts";
import { sqliteTransaction } from "./sqlite_transaction.ts";
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

type Row = Record<string, SQLInputValue>;

export class SqliteAccountRepo implements AccountRepo {
  #db: DatabaseSync;
  #now: () => number;
  #newId: () => string;
  #get: StatementSync;
  #insertCall: StatementSync;
  #touch: StatementSync;
  #countSince: StatementSync;
  #countAllSince: StatementSync;

  constructor(db: DatabaseSync, now: () => number, newId: () => string) {
    this.#db = db;
    this.#now = now;
    this.#newId = newId;
    this.#get = db.prepare("SELECT * FROM accounts WHERE id = ?");
    this.#insertCall = db.prepare(
      "INSERT INTO account_calls (account_id, at, outcome, failure_class) VALUES (?, ?, ?, ?)",
    );
    this.#touch = db.prepare("UPDATE accounts SET last_used_at = ? WHERE id = ?");
    this.#countSince = db.prepare("SELECT COUNT(*) AS n FROM account_calls WHERE account_id = ? AND at >= ?");
    this.#countAllSince = db.prepare(
      "SELECT account_id, COUNT(*) AS n FROM account_calls WHERE at >= ? GROUP BY account_id",
    );
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  list(filter: { type?: AccountType; enabled?: boolean } = {}): Promise<Account[]> {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.type) {
      where.push("type = ?");
      params.push(filter.type);
    }
    if (filter.enabled !== undefined) {
      where.push("enabled = ?");
      params.push(filter.enabled ? 1 : 0);
    }
    const sql = `SELECT * FROM accounts ${
      where.length ? "WHERE " + where.join(" AND ") : ""
    } ORDER BY created_at DESC`;
    const rows = this.#db.prepare(sql).all(...params) as Row[];
    return Promise.resolve(rows.map(rowToAccount));
  }

  get(id: string): Promise<Account | null> {
    const row = this.#get.get(id) as Row | undefined;
    return Promise.resolve(row ? rowToAccount(row) : null);
  }

  create(input: NewAccount): Promise<Account> {
    const id = this.#newId();
    const at = this.#iso();
    this.#db.prepare(
      `INSERT INTO accounts (${NEW_ACCOUNT_COLUMNS.join(", ")}) VALUES (${
        NEW_ACCOUNT_COLUMNS.map(() => "?").join(", ")
      })`,
    ).run(...newAccountValues(id, input, at));
    return this.get(id).then((a) => a!);
  }

  update(id: string, patch: AccountPatch): Promise<Account | null> {
    const sets: string[] = [];
    const params: SQLInputValue[] = [];
    for (const [key, value] of Object.entries(patch) as Array<[keyof AccountPatch, unknown]>) {
      if (value === undefined || !(key in ACCOUNT_PATCH_COLUMNS)) continue;
      sets.push(`${ACCOUNT_PATCH_COLUMNS[key]} = ?`);
      params.push(accountPatchValue(key, value));
    }
    if (sets.length > 0) {
      sets.push("updated_at = ?");
      params.push(this.#iso(), id);
      this.#db.prepare(`UPDATE accounts SET ${sets.join(", ")} WHERE id = ?`).run(...params);
    }
    return this.get(id);
  }

  patchOther(id: string, patch: Record<string, unknown>): Promise<void> {
    this.#transaction(() => {
      const row = this.#get.get(id) as Row | undefined;
      if (!row) return;
      const other = parseOther(row.other);
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete other[key];
        else other[key] = value;
      }
      this.#db.prepare("UPDATE accounts SET other = ?, updated_at = ? WHERE id = ?").run(
        JSON.stringify(other),
        this.#iso(),
        id,
      );
    });
    return Promise.resolve();
  }

  delete(id: string): Promise<boolean> {
    const result = this.#db.prepare("DELETE FROM accounts WHERE id = ?").run(id);
    return Promise.resolve(Number(result.changes) > 0);
  }

  saveTokens(id: string, update: TokenUpdate): Promise<void> {
    this.#transaction(() => {
      this.#db.prepare(
        `UPDATE accounts SET accessToken = ?, refreshToken = COALESCE(?, refreshToken), token_expires_at = ?,
           last_refresh_time = ?, last_refresh_status = 'success', updated_at = ? WHERE id = ?`,
      ).run(
        update.accessToken,
        update.refreshToken ?? null,
        update.tokenExpiresAt,
        update.refreshedAt,
        this.#iso(),
        id,
      );
      if (update.otherPatch && Object.keys(update.otherPatch).length > 0) {
        const row = this.#get.get(id) as Row | undefined;
        const other = { ...parseOther(row?.other), ...update.otherPatch };
        this.#db.prepare("UPDATE accounts SET other = ? WHERE id = ?").run(JSON.stringify(other), id);
      }
    });
    return Promise.resolve();
  }

  recordCall(id: string, outcome: CallOutcome, failureClass: string | null, at: number): Promise<void> {
    this.#insertCall.run(id, at, outcome, failureClass);
    this.#touch.run(at, id);
    return Promise.resolve();
  }

  countCallsSince(id: string, since: number): Promise<number> {
    return Promise.resolve(Number((this.#countSince.get(id, since) as { n: number }).n));
  }

  countAllCallsSince(since: number): Promise<Map<string, number>> {
    const rows = this.#countAllSince.all(since) as Array<{ account_id: string; n: number }>;
    return Promise.resolve(new Map(rows.map((r) => [r.account_id, Number(r.n)])));
  }

  stats(id: string, now: number): Promise<AccountStats> {
    const hour = this.#countSince.get(id, now - 3_600_000) as { n: number };
    const day = this.#countSince.get(id, now - 86_400_000) as { n: number };
    const rows = this.#db.prepare(
      "SELECT outcome, failure_class, COUNT(*) AS n FROM account_calls WHERE account_id = ? GROUP BY outcome, failure_class",
    ).all(id) as Array<{ outcome: string; failure_class: string | null; n: number }>;
    let successes = 0;
    let failures = 0;
    const byClass: Record<string, number> = {};
    for (const row of rows) {
      if (row.outcome === "success") successes += Number(row.n);
      else {
        failures += Number(row.n);
        const key = row.failure_class ?? "unknown";
        byClass[key] = (byClass[key] ?? 0) + Number(row.n);
      }
    }
    return Promise.resolve({
      account_id: id,
      calls_last_hour: Number(hour.n),
      calls_last_day: Number(day.n),
      total_calls: successes + failures,
      successes,
      failures,
      failures_by_class: byClass,
    });
  }

  pruneCalls(before: number): Promise<number> {
    return Promise.resolve(
      Number(this.#db.prepare("DELETE FROM account_calls WHERE at < ?").run(before).changes),
    );
  }

  count(): Promise<{ total: number; enabled: number }> {
    const row = this.#db.prepare(
      "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN enabled = 1 THEN 1 ELSE 0 END), 0) AS enabled FROM accounts",
    ).get() as { total: number; enabled: number };
    return Promise.resolve({ total: Number(row.total), enabled: Number(row.enabled) });
  }

  #transaction(fn: () => void): void {
    sqliteTransaction(this.#db, fn);
  }
}
