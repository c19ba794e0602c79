/**
 * The usage time series: requests, tokens, cost, errors by outcome and time-to-first-byte percentiles per
 * hour or day bucket, optionally per model, account, key or channel. Raw records give exact percentiles;
 * aggregate rows carry their hour's own, which are averaged across hours weighted by request count (an
 * approximation, exact within one hour).
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor } from "./sql_executor.ts";
import { SqlUsageRanges } from "./sql_usage_ranges.ts";
import {
  addSums,
  DAY,
  emptySums,
  HOUR,
  HOURLY_SUMS,
  num,
  percentile,
  SUMS,
  type Sums,
  sumsOf,
} from "./sql_usage_sums.ts";
import type { SeriesQuery, SeriesRow, UsageFilter } from "./types.ts";

const GROUP_COLUMNS = { model: "model", account: "account_id", key: "key_id", channel: "channel" } as const;

export class SqlUsageSeries {
  #db: SqlExecutor;
  #table: string;
  #ranges: SqlUsageRanges;

  constructor(
    db: SqlExecutor,
    dialect: SqlDialect,
    ranges: SqlUsageRanges = new SqlUsageRanges(db, dialect),
  ) {
    this.#db = db;
    this.#table = dialect.table("usage_records");
    this.#ranges = ranges;
  }

  async series(q: SeriesQuery): Promise<SeriesRow[]> {
    const size = q.bucket === "day" ? DAY : HOUR;
    const groupCol = q.groupBy ? GROUP_COLUMNS[q.groupBy] : null;
    const plan = await this.#ranges.plan(q.from, q.to, q.bucket === "day");
    const filter: UsageFilter = q.keyId !== undefined ? { keyId: q.keyId } : {};
    interface Acc extends Sums {
      t: number;
      group: string | null;
      errors: Record<string, number>;
      ttfb: number[];
      /** Hourly percentiles, weighted by their request counts. */
      p50w: number;
      p95w: number;
      weight: number;
    }
    const buckets = new Map<string, Acc>();
    const acc = (t: number, group: string | null): Acc => {
      const id = `${t}\u0000${group ?? ""}`;
      let a = buckets.get(id);
      if (!a) {
        a = {
          t,
          group,
          ...emptySums(),
          errors: {},
          ttfb: [],
          p50w: 0,
          p95w: 0,
          weight: 0,
        };
        buckets.set(id, a);
      }
      return a;
    };
    const fold = (a: Acc, s: Sums, outcome: string) => {
      addSums(a, s);
      if (outcome !== "success") a.errors[outcome] = (a.errors[outcome] ?? 0) + s.request_count;
    };
    const groupOf = (v: unknown) => (groupCol === null || v === null || v === "" ? null : String(v));
    const groupSelect = groupCol ? `${groupCol} AS grp` : "NULL AS grp";
    const groupBy = groupCol ? `, ${groupCol}` : "";
    for (const [a, b] of plan.raw) {
      const f = this.#ranges.filters(filter, false);
      const cond = `created_at >= ? AND created_at < ?${f.where.map((w) => " AND " + w).join("")}`;
      const bucketExpr = `(created_at - (created_at % ${size}))`;
      const rows = await this.#db.rows(
        `SELECT ${bucketExpr} AS t, ${groupSelect}, outcome, ${SUMS} FROM ${this.#table} WHERE ${cond}
         GROUP BY ${bucketExpr}${groupBy}, outcome`,
        [a, b, ...f.params],
      );
      for (const row of rows) fold(acc(num(row.t), groupOf(row.grp)), sumsOf(row), String(row.outcome));
      const ttfb = await this.#db.rows(
        `SELECT ${bucketExpr} AS t, ${groupSelect}, ttfb_ms FROM ${this.#table}
         WHERE ${cond} AND ttfb_ms IS NOT NULL`,
        [a, b, ...f.params],
      );
      for (const row of ttfb) acc(num(row.t), groupOf(row.grp)).ttfb.push(num(row.ttfb_ms));
    }
    for (const [table, from, to] of this.#ranges.aggregates(plan)) {
      const f = this.#ranges.filters(filter, true);
      const bucketExpr = `(hour - (hour % ${size}))`;
      const rows = await this.#db.rows(
        `SELECT ${bucketExpr} AS t, ${groupSelect}, outcome, ${HOURLY_SUMS},
           SUM(ttfb_p50 * ttfb_count) AS p50w, SUM(ttfb_p95 * ttfb_count) AS p95w, SUM(ttfb_count) AS weight
         FROM ${table} WHERE hour >= ? AND hour < ?${f.where.map((w) => " AND " + w).join("")}
         GROUP BY ${bucketExpr}${groupBy}, outcome`,
        [from, to, ...f.params],
      );
      for (const row of rows) {
        const a = acc(num(row.t), groupOf(row.grp));
        fold(a, sumsOf(row), String(row.outcome));
        a.p50w += num(row.p50w);
        a.p95w += num(row.p95w);
        a.weight += num(row.weight);
      }
    }
    const out: SeriesRow[] = [];
    for (const a of buckets.values()) {
      a.ttfb.sort((x, y) => x - y);
      const n = a.ttfb.length;
      const total = n + a.weight;
      const mix = (exact: number | null, weighted: number) =>
        total === 0 ? null : Math.round(((exact ?? 0) * n + weighted) / total);
      out.push({
        t: a.t,
        group: a.group,
        requests: a.request_count,
        input_tokens: a.input_tokens,
        output_tokens: a.output_tokens,
        cache_creation_input_tokens: a.cache_creation_input_tokens,
        cache_read_input_tokens: a.cache_read_input_tokens,
        cost_usd: Math.round(a.cost_usd * 1e9) / 1e9,
        unpriced_requests: a.unpriced_count,
        errors: a.errors,
        ttfb_p50_ms: mix(percentile(a.ttfb, 0.5), a.p50w),
        ttfb_p95_ms: mix(percentile(a.ttfb, 0.95), a.p95w),
      });
    }
    return out.sort((x, y) => x.t - y.t || (x.group ?? "").localeCompare(y.group ?? ""));
  }
}
