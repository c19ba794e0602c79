/**
 * Usage records (one per request, successes and failures), their hourly and daily aggregates, and the reads
 * the usage APIs make over both.
 *
 * Raw records are kept for a retention period and rolled up into aggregates (`SqlUsageRollup`); reads take
 * whole days and hours from the aggregates and only the edges and the time since the rollup watermark from
 * raw records (`SqlUsageRanges`), so a summary or a series (`SqlUsageSeries`) over a month reads a few
 * thousand aggregate rows instead of a million records.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlRow, SqlValue } from "./sql_executor.ts";
import { SqlUsageRanges } from "./sql_usage_ranges.ts";
import { SqlUsageRollup } from "./sql_usage_rollup.ts";
import { SqlUsageSeries } from "./sql_usage_series.ts";
import {
  addSums,
  DAY,
  emptySums,
  HOUR,
  HOURLY_SUMS,
  num,
  SUMS,
  type Sums,
  sumsOf,
} from "./sql_usage_sums.ts";
import type {
  AccountActivity,
  SeriesQuery,
  SeriesRow,
  UsageFilter,
  UsageRecord,
  UsageRepo,
  UsageSource,
  UsageSummaryRow,
} from "./types.ts";

const RECORD_COLUMNS = [
  "account_id",
  "model",
  "channel",
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
  "created_at",
  "key_id",
  "upstream_model",
  "request_id",
  "cache_creation_1h_tokens",
  "input_source",
  "cache_source",
  "cost_usd",
  "cost_status",
  "outcome",
  "stop_reason",
  "streamed",
  "ttfb_ms",
  "duration_ms",
  "error_message",
];

function recordValues(r: UsageRecord): SqlValue[] {
  const ms = (v: number | null | undefined) => v === undefined || v === null ? null : Math.round(v);
  return [
    r.account_id,
    r.model,
    r.channel,
    r.input_tokens,
    r.output_tokens,
    r.cache_creation_input_tokens,
    r.cache_read_input_tokens,
    r.created_at,
    r.key_id ?? null,
    r.upstream_model ?? null,
    r.request_id ?? null,
    r.cache_creation_1h_tokens ?? 0,
    r.input_source ?? null,
    r.cache_source ?? null,
    r.cost_usd ?? null,
    r.cost_status ?? null,
    r.outcome ?? "success",
    r.stop_reason ?? null,
    r.streamed === undefined || r.streamed === null ? null : r.streamed ? 1 : 0,
    ms(r.ttfb_ms),
    ms(r.duration_ms),
    r.error_message ?? null,
  ];
}

export class SqlUsageRepo implements UsageRepo {
  #db: SqlExecutor;
  #table: string;
  #ranges: SqlUsageRanges;
  #series: SqlUsageSeries;
  #rollup: SqlUsageRollup;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#table = dialect.table("usage_records");
    this.#ranges = new SqlUsageRanges(db, dialect);
    this.#series = new SqlUsageSeries(db, dialect, this.#ranges);
    this.#rollup = new SqlUsageRollup(db, dialect, this.#ranges);
  }

  async record(r: UsageRecord): Promise<void> {
    await this.#db.run(
      `INSERT INTO ${this.#table} (${RECORD_COLUMNS.join(", ")}) VALUES (${
        RECORD_COLUMNS.map(() => "?").join(", ")
      })`,
      recordValues(r),
    );
  }

  async recordMany(rows: readonly UsageRecord[]): Promise<void> {
    // One transaction, a few hundred rows per statement: an import or a bench's million rows in seconds.
    await this.#db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 400) {
        const batch = rows.slice(i, i + 400);
        await tx.run(
          `INSERT INTO ${this.#table} (${RECORD_COLUMNS.join(", ")}) VALUES ${
            batch.map(() => `(${RECORD_COLUMNS.map(() => "?").join(", ")})`).join(", ")
          }`,
          batch.flatMap(recordValues),
        );
      }
    });
  }

  async summary(since: number, filter: UsageFilter = {}): Promise<UsageSummaryRow[]> {
    const plan = await this.#ranges.plan(since, Number.MAX_SAFE_INTEGER, true);
    const byModel = new Map<string, { sums: Sums; errors: number }>();
    const add = (row: SqlRow) => {
      const model = String(row.model);
      let into = byModel.get(model);
      if (!into) byModel.set(model, into = { sums: emptySums(), errors: 0 });
      addSums(into.sums, sumsOf(row));
      into.errors += num(row.error_count);
    };
    for (const [a, b] of plan.raw) {
      const f = this.#ranges.filters(filter, false);
      const rows = await this.#db.rows(
        `SELECT model, ${SUMS}, SUM(CASE WHEN outcome <> 'success' THEN 1 ELSE 0 END) AS error_count
         FROM ${this.#table} WHERE created_at >= ? AND created_at < ?${
          f.where.map((w) => " AND " + w).join("")
        }
         GROUP BY model`,
        [a, b, ...f.params],
      );
      rows.forEach(add);
    }
    for (const [table, a, b] of this.#ranges.aggregates(plan)) {
      const f = this.#ranges.filters(filter, true);
      const rows = await this.#db.rows(
        `SELECT model, ${HOURLY_SUMS},
           SUM(CASE WHEN outcome <> 'success' THEN request_count ELSE 0 END) AS error_count
         FROM ${table} WHERE hour >= ? AND hour < ?${f.where.map((w) => " AND " + w).join("")}
         GROUP BY model`,
        [a, b, ...f.params],
      );
      rows.forEach(add);
    }
    return [...byModel].map(([model, { sums: s, errors }]): UsageSummaryRow => ({
      model,
      request_count: s.request_count,
      input_tokens: s.input_tokens,
      output_tokens: s.output_tokens,
      cache_creation_input_tokens: s.cache_creation_input_tokens,
      cache_read_input_tokens: s.cache_read_input_tokens,
      cost_usd: Math.round(s.cost_usd * 1e9) / 1e9,
      unpriced_requests: s.unpriced_count,
      error_count: errors,
      cache_hits: s.cache_hits,
      cache_misses: s.cache_misses,
    }))
      .sort((a, b) => (b.input_tokens + b.output_tokens) - (a.input_tokens + a.output_tokens));
  }

  async recent(limit: number, filter: UsageFilter = {}): Promise<Array<UsageRecord & { id: number }>> {
    const f = this.#ranges.filters(filter, false);
    const where = f.where.length > 0 ? ` WHERE ${f.where.join(" AND ")}` : "";
    // An integer: MySQL refuses a fractional LIMIT.
    const rows = await this.#db.rows(`SELECT * FROM ${this.#table}${where} ORDER BY id DESC LIMIT ?`, [
      ...f.params,
      Math.max(0, Math.trunc(limit)),
    ]);
    const text = (v: unknown) => v === null || v === undefined ? null : String(v);
    const int = (v: unknown) => v === null || v === undefined ? null : Number(v);
    return rows.map((row) => ({
      id: Number(row.id),
      account_id: text(row.account_id),
      model: String(row.model),
      channel: String(row.channel),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cache_creation_input_tokens: Number(row.cache_creation_input_tokens),
      cache_read_input_tokens: Number(row.cache_read_input_tokens),
      created_at: Number(row.created_at),
      key_id: text(row.key_id),
      upstream_model: text(row.upstream_model),
      request_id: text(row.request_id),
      cache_creation_1h_tokens: Number(row.cache_creation_1h_tokens ?? 0),
      input_source: text(row.input_source) as UsageSource | null,
      cache_source: text(row.cache_source) as UsageSource | null,
      cost_usd: int(row.cost_usd),
      cost_status: text(row.cost_status) as "priced" | "unpriced" | null,
      outcome: String(row.outcome ?? "success"),
      stop_reason: text(row.stop_reason),
      streamed: row.streamed === null || row.streamed === undefined ? null : Number(row.streamed) === 1,
      ttfb_ms: int(row.ttfb_ms),
      duration_ms: int(row.duration_ms),
      error_message: text(row.error_message),
    }));
  }

  async accountActivity(now: number, todayStart: number): Promise<AccountActivity[]> {
    const dayStart = now - DAY;
    const hourStart = now - HOUR;
    // "Today" began within the last day; a start outside it would read records the other counts do not.
    const today = Math.min(now, Math.max(dayStart, todayStart));
    // A client hanging up is not the account failing: such requests count, but neither as success nor failure.
    const ok = "outcome = 'success'";
    const failed = "outcome NOT IN ('success', 'client_closed')";
    const rows = await this.#db.rows(
      `SELECT account_id,
         SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END) AS hour_requests,
         SUM(CASE WHEN created_at >= ? AND ${ok} THEN 1 ELSE 0 END) AS hour_successes,
         SUM(CASE WHEN created_at >= ? AND ${failed} THEN 1 ELSE 0 END) AS hour_failures,
         COUNT(*) AS day_requests,
         SUM(CASE WHEN ${ok} THEN 1 ELSE 0 END) AS day_successes,
         SUM(CASE WHEN ${failed} THEN 1 ELSE 0 END) AS day_failures,
         SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END) AS today_requests,
         MAX(CASE WHEN ${failed} THEN created_at ELSE NULL END) AS last_failure_at
       FROM ${this.#table}
       WHERE created_at >= ? AND created_at <= ? AND account_id IS NOT NULL
       GROUP BY account_id`,
      [hourStart, hourStart, hourStart, today, dayStart, now],
    );
    return rows.map((row) => ({
      account_id: String(row.account_id),
      hour: {
        requests: num(row.hour_requests),
        successes: num(row.hour_successes),
        failures: num(row.hour_failures),
      },
      day: {
        requests: num(row.day_requests),
        successes: num(row.day_successes),
        failures: num(row.day_failures),
      },
      today_requests: num(row.today_requests),
      last_failure_at: row.last_failure_at === null || row.last_failure_at === undefined
        ? null
        : num(row.last_failure_at),
    })).sort((a, b) => a.account_id < b.account_id ? -1 : a.account_id > b.account_id ? 1 : 0);
  }

  series(q: SeriesQuery): Promise<SeriesRow[]> {
    return this.#series.series(q);
  }

  rollup(until: number): Promise<number> {
    return this.#rollup.rollup(until);
  }

  prune(rawBefore: number, hourlyBefore: number): Promise<{ raw: number; hourly: number }> {
    return this.#rollup.prune(rawBefore, hourlyBefore);
  }
}
