/**
 * Usage records (one per request, successes and failures), their hourly aggregates, and the reads the usage
 * APIs make over both.
 *
 * Raw records are kept for a retention period; `rollup` folds complete hours into `usage_hourly` (one row
 * per hour, model, account, key, channel and outcome), then whole days of those into `usage_daily`, and
 * moves a watermark kept in the `meta` table. Reads take whole days from `usage_daily` where the question
 * allows it (day buckets, summaries), whole hours from `usage_hourly`, and only the edges and the time since
 * the watermark from raw records, so a series over a month reads a few thousand aggregate rows instead of
 * a million records. An hour is recomputed
 * from its raw records as a whole (delete and insert in one transaction), so running the rollup twice, or
 * on two instances, gives the same rows. Time to first byte percentiles of an aggregate are the hour's own;
 * across hours they are averaged weighted by request count (an approximation, exact within one hour).
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlRow, SqlValue } from "./sql_executor.ts";
import type {
  SeriesQuery,
  SeriesRow,
  UsageFilter,
  UsageRecord,
  UsageRepo,
  UsageSource,
  UsageSummaryRow,
} from "./types.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Hours before the watermark recomputed on every run, for records written after their hour was rolled up. */
const REDO_HOURS = 2;
/** A first rollup never reaches further back than the aggregates are kept. */
const MAX_BACKFILL = 366 * DAY;
const WATERMARK_KEY = "usage_rollup_until";

const GROUP_COLUMNS = { model: "model", account: "account_id", key: "key_id", channel: "channel" } as const;

const SUMS =
  `COUNT(*) AS request_count, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
  SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
  SUM(cache_read_input_tokens) AS cache_read_input_tokens,
  SUM(COALESCE(cost_usd, 0)) AS cost_usd,
  SUM(CASE WHEN cost_status = 'unpriced' THEN 1 ELSE 0 END) AS unpriced_count,
  SUM(CASE WHEN cache_read_input_tokens > 0 THEN 1 ELSE 0 END) AS cache_hits,
  SUM(CASE WHEN cache_read_input_tokens = 0 AND cache_creation_input_tokens > 0 THEN 1 ELSE 0 END) AS cache_misses`;

const HOURLY_SUMS = `SUM(request_count) AS request_count, SUM(input_tokens) AS input_tokens,
  SUM(output_tokens) AS output_tokens, SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
  SUM(cache_read_input_tokens) AS cache_read_input_tokens, SUM(cost_usd) AS cost_usd,
  SUM(unpriced_count) AS unpriced_count, SUM(cache_hits) AS cache_hits, SUM(cache_misses) AS cache_misses`;

function num(value: unknown): number {
  // MySQL's SUM over BIGINT is a DECIMAL, which its driver returns as a string.
  return Number(value ?? 0);
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

interface Sums {
  request_count: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cost_usd: number;
  unpriced_count: number;
  cache_hits: number;
  cache_misses: number;
}

function sumsOf(row: SqlRow): Sums {
  return {
    request_count: num(row.request_count),
    input_tokens: num(row.input_tokens),
    output_tokens: num(row.output_tokens),
    cache_creation_input_tokens: num(row.cache_creation_input_tokens),
    cache_read_input_tokens: num(row.cache_read_input_tokens),
    cost_usd: num(row.cost_usd),
    unpriced_count: num(row.unpriced_count),
    cache_hits: num(row.cache_hits),
    cache_misses: num(row.cache_misses),
  };
}

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
  ];
}

/** Where `[from, to)` is read: whole rolled-up days and hours from the aggregates, the edges from raw records. */
interface Plan {
  daily: [number, number] | null;
  hourly: Array<[number, number]>;
  raw: Array<[number, number]>;
}

export class SqlUsageRepo implements UsageRepo {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;
  #hourly: string;
  #daily: string;
  #meta: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("usage_records");
    this.#hourly = dialect.table("usage_hourly");
    this.#daily = dialect.table("usage_daily");
    this.#meta = dialect.table("meta");
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

  async #watermark(): Promise<number> {
    const [row] = await this.#db.rows(`SELECT value FROM ${this.#meta} WHERE \`key\` = ?`, [WATERMARK_KEY]);
    return row ? Number(row.value) : 0;
  }

  async #plan(from: number, to: number, days: boolean): Promise<Plan> {
    const watermark = await this.#watermark();
    const start = Math.ceil(from / HOUR) * HOUR;
    const end = Math.min(watermark, Math.floor(to / HOUR) * HOUR);
    if (start >= end) return { daily: null, hourly: [], raw: [[from, to]] };
    const raw: Array<[number, number]> = [];
    if (from < start) raw.push([from, start]);
    if (end < to) raw.push([end, to]);
    const dayStart = Math.ceil(start / DAY) * DAY;
    const dayEnd = Math.floor(end / DAY) * DAY;
    if (!days || dayStart >= dayEnd) return { daily: null, hourly: [[start, end]], raw };
    const hourly: Array<[number, number]> = [];
    if (start < dayStart) hourly.push([start, dayStart]);
    if (dayEnd < end) hourly.push([dayEnd, end]);
    return { daily: [dayStart, dayEnd], hourly, raw };
  }

  /** The aggregate tables and ranges of a plan. */
  #aggregates(plan: Plan): Array<[string, number, number]> {
    const out: Array<[string, number, number]> = plan.hourly.map(([a, b]) => [this.#hourly, a, b]);
    if (plan.daily) out.push([this.#daily, plan.daily[0], plan.daily[1]]);
    return out;
  }

  #filters(filter: UsageFilter, hourly: boolean): { where: string[]; params: SqlValue[] } {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.accountId) {
      where.push("account_id = ?");
      params.push(filter.accountId);
    }
    if (filter.model) {
      where.push("model = ?");
      params.push(filter.model);
    }
    if (filter.keyId !== undefined) {
      where.push(hourly ? "key_id = ?" : "key_id = ?");
      params.push(filter.keyId);
    }
    return { where, params };
  }

  async summary(since: number, filter: UsageFilter = {}): Promise<UsageSummaryRow[]> {
    const plan = await this.#plan(since, Number.MAX_SAFE_INTEGER, true);
    const byModel = new Map<string, UsageSummaryRow>();
    const add = (row: SqlRow) => {
      const model = String(row.model);
      const s = sumsOf(row);
      const into = byModel.get(model) ?? {
        model,
        request_count: 0,
        input_tokens: 0,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cost_usd: 0,
        unpriced_requests: 0,
        error_count: 0,
        cache_hits: 0,
        cache_misses: 0,
      };
      into.request_count += s.request_count;
      into.input_tokens += s.input_tokens;
      into.output_tokens += s.output_tokens;
      into.cache_creation_input_tokens += s.cache_creation_input_tokens;
      into.cache_read_input_tokens += s.cache_read_input_tokens;
      into.cost_usd += s.cost_usd;
      into.unpriced_requests += s.unpriced_count;
      into.error_count += num(row.error_count);
      into.cache_hits += s.cache_hits;
      into.cache_misses += s.cache_misses;
      byModel.set(model, into);
    };
    for (const [a, b] of plan.raw) {
      const f = this.#filters(filter, false);
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
    for (const [table, a, b] of this.#aggregates(plan)) {
      const f = this.#filters(filter, true);
      const rows = await this.#db.rows(
        `SELECT model, ${HOURLY_SUMS},
           SUM(CASE WHEN outcome <> 'success' THEN request_count ELSE 0 END) AS error_count
         FROM ${table} WHERE hour >= ? AND hour < ?${f.where.map((w) => " AND " + w).join("")}
         GROUP BY model`,
        [a, b, ...f.params],
      );
      rows.forEach(add);
    }
    return [...byModel.values()]
      .map((r) => ({ ...r, cost_usd: Math.round(r.cost_usd * 1e9) / 1e9 }))
      .sort((a, b) => (b.input_tokens + b.output_tokens) - (a.input_tokens + a.output_tokens));
  }

  async recent(limit: number, filter: UsageFilter = {}): Promise<Array<UsageRecord & { id: number }>> {
    const f = this.#filters(filter, false);
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
    }));
  }

  async series(q: SeriesQuery): Promise<SeriesRow[]> {
    const size = q.bucket === "day" ? DAY : HOUR;
    const groupCol = q.groupBy ? GROUP_COLUMNS[q.groupBy] : null;
    const plan = await this.#plan(q.from, q.to, q.bucket === "day");
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
          request_count: 0,
          input_tokens: 0,
          output_tokens: 0,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          cost_usd: 0,
          unpriced_count: 0,
          cache_hits: 0,
          cache_misses: 0,
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
      a.request_count += s.request_count;
      a.input_tokens += s.input_tokens;
      a.output_tokens += s.output_tokens;
      a.cache_creation_input_tokens += s.cache_creation_input_tokens;
      a.cache_read_input_tokens += s.cache_read_input_tokens;
      a.cost_usd += s.cost_usd;
      a.unpriced_count += s.unpriced_count;
      if (outcome !== "success") a.errors[outcome] = (a.errors[outcome] ?? 0) + s.request_count;
    };
    const groupOf = (v: unknown) => (groupCol === null || v === null || v === "" ? null : String(v));
    const groupSelect = groupCol ? `${groupCol} AS grp` : "NULL AS grp";
    const groupBy = groupCol ? `, ${groupCol}` : "";
    for (const [a, b] of plan.raw) {
      const f = this.#filters(filter, false);
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
    for (const [table, from, to] of this.#aggregates(plan)) {
      const f = this.#filters(filter, true);
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

  async rollup(until: number): Promise<number> {
    const end = Math.floor(until / HOUR) * HOUR;
    const watermark = await this.#watermark();
    let start: number;
    if (watermark > 0) start = watermark - REDO_HOURS * HOUR;
    else {
      const [row] = await this.#db.rows(`SELECT MIN(created_at) AS first FROM ${this.#table}`);
      start = row?.first === null || row?.first === undefined
        ? end
        : Math.floor(num(row.first) / HOUR) * HOUR;
    }
    start = Math.max(start, end - MAX_BACKFILL);
    let hours = 0;
    for (let hour = start; hour < end; hour += HOUR) {
      await this.#rollupHour(hour);
      hours++;
    }
    // Every complete day whose hours were recomputed.
    for (let day = Math.floor(start / DAY) * DAY; day + DAY <= end; day += DAY) await this.#rollupDay(day);
    if (end > watermark) {
      const { sql, params } = this.#dialect.upsert(this.#meta, { key: WATERMARK_KEY, value: String(end) }, [
        "key",
      ]);
      await this.#db.run(sql, params);
    }
    return hours;
  }

  async #rollupHour(hour: number): Promise<void> {
    const range = [hour, hour + HOUR];
    const dims =
      "model, COALESCE(account_id, '') AS account_id, COALESCE(key_id, '') AS key_id, channel, outcome";
    const rows = await this.#db.rows(
      `SELECT ${dims}, ${SUMS} FROM ${this.#table} WHERE created_at >= ? AND created_at < ?
       GROUP BY model, COALESCE(account_id, ''), COALESCE(key_id, ''), channel, outcome`,
      range,
    );
    const ttfbRows = await this.#db.rows(
      `SELECT ${dims}, ttfb_ms FROM ${this.#table}
       WHERE created_at >= ? AND created_at < ? AND ttfb_ms IS NOT NULL ORDER BY ttfb_ms`,
      range,
    );
    const id = (r: SqlRow) => [r.model, r.account_id, r.key_id, r.channel, r.outcome].join("\u0000");
    const ttfb = new Map<string, number[]>();
    for (const r of ttfbRows) {
      const list = ttfb.get(id(r)) ?? [];
      list.push(num(r.ttfb_ms));
      ttfb.set(id(r), list);
    }
    await this.#db.transaction(async (tx) => {
      await tx.run(`DELETE FROM ${this.#hourly} WHERE hour = ?`, [hour]);
      for (const r of rows) {
        const s = sumsOf(r);
        const times = ttfb.get(id(r)) ?? [];
        await tx.run(
          `INSERT INTO ${this.#hourly} (hour, model, account_id, key_id, channel, outcome, request_count,
             input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_usd,
             unpriced_count, cache_hits, cache_misses, ttfb_count, ttfb_p50, ttfb_p95)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            hour,
            String(r.model),
            String(r.account_id),
            String(r.key_id),
            String(r.channel),
            String(r.outcome),
            s.request_count,
            s.input_tokens,
            s.output_tokens,
            s.cache_creation_input_tokens,
            s.cache_read_input_tokens,
            s.cost_usd,
            s.unpriced_count,
            s.cache_hits,
            s.cache_misses,
            times.length,
            percentile(times, 0.5),
            percentile(times, 0.95),
          ],
        );
      }
    });
  }

  async #rollupDay(day: number): Promise<void> {
    const dims = "model, account_id, key_id, channel, outcome";
    await this.#db.transaction(async (tx) => {
      await tx.run(`DELETE FROM ${this.#daily} WHERE hour = ?`, [day]);
      await tx.run(
        `INSERT INTO ${this.#daily} (hour, ${dims}, request_count, input_tokens, output_tokens,
           cache_creation_input_tokens, cache_read_input_tokens, cost_usd, unpriced_count, cache_hits,
           cache_misses, ttfb_count, ttfb_p50, ttfb_p95)
         SELECT ?, ${dims}, ${HOURLY_SUMS}, SUM(ttfb_count),
           SUM(ttfb_p50 * ttfb_count) / NULLIF(SUM(ttfb_count), 0),
           SUM(ttfb_p95 * ttfb_count) / NULLIF(SUM(ttfb_count), 0)
         FROM ${this.#hourly} WHERE hour >= ? AND hour < ? GROUP BY ${dims}`,
        [day, day, day + DAY],
      );
    });
  }

  async prune(rawBefore: number, hourlyBefore: number): Promise<{ raw: number; hourly: number }> {
    // Raw records go only once their hour is rolled up and past the hours a rollup still recomputes.
    const watermark = await this.#watermark();
    const rawLimit = Math.min(rawBefore, watermark - REDO_HOURS * HOUR);
    const raw = rawLimit > 0
      ? await this.#db.run(`DELETE FROM ${this.#table} WHERE created_at < ?`, [rawLimit])
      : 0;
    const hourly = await this.#db.run(`DELETE FROM ${this.#hourly} WHERE hour < ?`, [hourlyBefore]);
    await this.#db.run(`DELETE FROM ${this.#daily} WHERE hour < ?`, [Math.floor(hourlyBefore / DAY) * DAY]);
    return { raw, hourly };
  }
}
