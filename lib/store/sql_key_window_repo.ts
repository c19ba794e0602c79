/**
 * Per-key usage counters in fixed windows (`key_usage_windows`): requests per minute, tokens and cost per
 * day and month. Shared by every instance on the database, so a key's limits hold across instances.
 *
 * A charge is one transaction of guarded increments: `UPDATE ... SET requests = requests + ? ... WHERE
 * <key and window> AND requests + ? <= <limit>`. The guard and the increment are one statement, so two
 * instances racing for the last unit cannot both get it (the row lock orders them); a window seen for the
 * first time is created with zeros (`INSERT IGNORE`) and the guarded update is tried once more. When any
 * guard fails the transaction rolls back, so a refused request adds nothing anywhere. A settlement is one
 * unguarded `UPDATE` of the day and month rows.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlValue } from "./sql_executor.ts";
import type {
  KeyChargeResult,
  KeyWindowCharge,
  KeyWindowCounts,
  KeyWindowKind,
  KeyWindowRepo,
} from "./types.ts";

type Counter = "requests" | "tokens" | "cost_micros";
/**
 * Counter writes do not wait for the disk (see `TransactionOptions`): a power failure may forget the last
 * moment of counts, which lets a key overshoot by that much once; an fsync per request would cost more
 * than everything else enforcement does.
 */
const RELAXED = { relaxed: true } as const;
const COUNTERS: readonly Counter[] = ["requests", "tokens", "cost_micros"];

/** Thrown inside the charge when a window's row does not exist yet: it is created outside, then retried. */
class MissingWindow extends Error {}

/** Thrown inside the transaction to roll it back; carries which guard failed. */
class Refused extends Error {
  constructor(readonly kind: KeyWindowKind, readonly counter: Counter) {
    super("refused");
  }
}

export class SqlKeyWindowRepo implements KeyWindowRepo {
  #db: SqlExecutor;
  #table: string;
  #insertIgnore: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#table = dialect.table("key_usage_windows");
    this.#insertIgnore = `${dialect.insertIgnore} INTO ${this.#table}
      (key_id, window_kind, window_start, requests, tokens, cost_micros) VALUES (?, ?, ?, 0, 0, 0)`;
  }

  async charge(keyId: string, charges: readonly KeyWindowCharge[]): Promise<KeyChargeResult> {
    if (charges.length === 0) return { ok: true, counts: [] };
    try {
      try {
        return await this.#chargeOnce(keyId, charges);
      } catch (error) {
        if (!(error instanceof MissingWindow)) throw error;
        // A window seen for the first time: create its rows on their own (autocommitted, so racing
        // requests never hold the gap lock an insert inside the charge would take, which deadlocks them
        // against each other at the start of every minute), then charge again.
        for (const charge of charges) {
          await this.#db.run(this.#insertIgnore, [keyId, charge.kind, charge.start]);
        }
        return await this.#chargeOnce(keyId, charges, true);
      }
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      const counts = await this.read(keyId, charges);
      // Now that the counts are known, say exactly which counter was over (the guess above picks the first).
      const charge = charges.find((c) => c.kind === error.kind)!;
      const held = counts.find((c) => c.kind === error.kind)!;
      const counter = COUNTERS.find((name) => {
        const limit = charge.limits[name];
        return limit !== undefined && (held[name] + charge[name] > limit || held[name] >= limit);
      }) ?? error.counter;
      return { ok: false, refused: { kind: error.kind, counter }, counts };
    }
  }

  /** The guarded increments in one transaction; a refused guard rolls all of them back. */
  #chargeOnce(keyId: string, charges: readonly KeyWindowCharge[], created = false): Promise<KeyChargeResult> {
    return this.#db.transaction(async (tx) => {
      for (const charge of charges) {
        if (await this.#guardedAdd(tx, keyId, charge)) continue;
        if (!created && !(await this.#exists(tx, keyId, charge))) throw new MissingWindow();
        throw new Refused(charge.kind, this.#failedCounter(charge));
      }
      return { ok: true as const, counts: await this.#read(tx, keyId, charges) };
    }, RELAXED);
  }

  async #exists(tx: SqlExecutor, keyId: string, w: { kind: KeyWindowKind; start: number }): Promise<boolean> {
    const rows = await tx.rows(
      `SELECT 1 AS present FROM ${this.#table} WHERE key_id = ? AND window_kind = ? AND window_start = ?`,
      [keyId, w.kind, w.start],
    );
    return rows.length > 0;
  }

  /** One guarded increment; true when it applied. */
  async #guardedAdd(tx: SqlExecutor, keyId: string, charge: KeyWindowCharge): Promise<boolean> {
    if (charge.requests === 0 && charge.tokens === 0 && charge.cost_micros === 0) {
      // Nothing to add: an UPDATE would change no row, which some MySQL clients report as 0 affected.
      const [held] = await this.#read(tx, keyId, [charge]);
      return COUNTERS.every((name) => {
        const limit = charge.limits[name];
        return limit === undefined || held![name] < limit;
      });
    }
    const guards: string[] = [];
    const guardParams: SqlValue[] = [];
    for (const name of COUNTERS) {
      const limit = charge.limits[name];
      if (limit === undefined) continue;
      // Also below the limit before adding: a window used up exactly is full even for a zero-sized charge.
      guards.push(`${name} + ? <= ? AND ${name} < ?`);
      guardParams.push(charge[name], limit, limit);
    }
    const sql = `UPDATE ${this.#table}
      SET requests = requests + ?, tokens = tokens + ?, cost_micros = cost_micros + ?
      WHERE key_id = ? AND window_kind = ? AND window_start = ?${guards.map((g) => ` AND ${g}`).join("")}`;
    const changed = await tx.run(sql, [
      charge.requests,
      charge.tokens,
      charge.cost_micros,
      keyId,
      charge.kind,
      charge.start,
      ...guardParams,
    ]);
    return changed > 0;
  }

  #failedCounter(charge: KeyWindowCharge): Counter {
    return COUNTERS.find((name) => charge.limits[name] !== undefined) ?? "requests";
  }

  async adjust(
    keyId: string,
    windows: ReadonlyArray<{ kind: KeyWindowKind; start: number }>,
    tokens: number,
    costMicros: number,
  ): Promise<void> {
    if (windows.length === 0 || (tokens === 0 && costMicros === 0)) return;
    const where = windows.map(() => "(window_kind = ? AND window_start = ?)").join(" OR ");
    await this.#db.transaction(
      (tx) =>
        tx.run(
          `UPDATE ${this.#table} SET tokens = tokens + ?, cost_micros = cost_micros + ?
           WHERE key_id = ? AND (${where})`,
          [tokens, costMicros, keyId, ...windows.flatMap((w) => [w.kind, w.start])],
        ),
      RELAXED,
    );
  }

  read(
    keyId: string,
    windows: ReadonlyArray<{ kind: KeyWindowKind; start: number }>,
  ): Promise<KeyWindowCounts[]> {
    return this.#read(this.#db, keyId, windows);
  }

  async #read(
    db: SqlExecutor,
    keyId: string,
    windows: ReadonlyArray<{ kind: KeyWindowKind; start: number }>,
  ): Promise<KeyWindowCounts[]> {
    if (windows.length === 0) return [];
    const where = windows.map(() => "(window_kind = ? AND window_start = ?)").join(" OR ");
    const rows = await db.rows(
      `SELECT window_kind, window_start, requests, tokens, cost_micros FROM ${this.#table}
       WHERE key_id = ? AND (${where})`,
      [keyId, ...windows.flatMap((w) => [w.kind, w.start])],
    );
    return windows.map((w) => {
      const row = rows.find((r) => String(r.window_kind) === w.kind && Number(r.window_start) === w.start);
      return {
        kind: w.kind,
        start: w.start,
        requests: Number(row?.requests ?? 0),
        tokens: Number(row?.tokens ?? 0),
        cost_micros: Number(row?.cost_micros ?? 0),
      };
    });
  }

  prune(keyId: string, current: Record<KeyWindowKind, number>): Promise<number> {
    return this.#db.transaction((tx) =>
      tx.run(
        `DELETE FROM ${this.#table} WHERE key_id = ? AND ((window_kind = 'minute' AND window_start < ?)
         OR (window_kind = 'day' AND window_start < ?) OR (window_kind = 'month' AND window_start < ?))`,
        [keyId, current.minute, current.day, current.month],
      ), RELAXED);
  }
}
