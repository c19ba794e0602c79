/**
 * Where a usage read over `[from, to)` takes its rows: whole rolled-up days from `usage_daily`, whole hours
 * from `usage_hourly`, and only the edges and the time since the rollup watermark from raw records, so a
 * read over a month touches a few thousand aggregate rows instead of a million records. Shared by the
 * summary and series reads; the rollup moves the watermark this reads.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlValue } from "./sql_executor.ts";
import { DAY, HOUR } from "./sql_usage_sums.ts";
import type { UsageFilter } from "./types.ts";

export const WATERMARK_KEY = "usage_rollup_until";

/** Where `[from, to)` is read: whole rolled-up days and hours from the aggregates, the edges from raw records. */
export interface Plan {
  daily: [number, number] | null;
  hourly: Array<[number, number]>;
  raw: Array<[number, number]>;
}

export class SqlUsageRanges {
  #db: SqlExecutor;
  #hourly: string;
  #daily: string;
  #meta: string;

  constructor(db: SqlExecutor, dialect: SqlDialect) {
    this.#db = db;
    this.#hourly = dialect.table("usage_hourly");
    this.#daily = dialect.table("usage_daily");
    this.#meta = dialect.table("meta");
  }

  async watermark(): Promise<number> {
    const [row] = await this.#db.rows(`SELECT value FROM ${this.#meta} WHERE \`key\` = ?`, [WATERMARK_KEY]);
    return row ? Number(row.value) : 0;
  }

  async plan(from: number, to: number, days: boolean): Promise<Plan> {
    const watermark = await this.watermark();
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
  aggregates(plan: Plan): Array<[string, number, number]> {
    const out: Array<[string, number, number]> = plan.hourly.map(([a, b]) => [this.#hourly, a, b]);
    if (plan.daily) out.push([this.#daily, plan.daily[0], plan.daily[1]]);
    return out;
  }

  filters(filter: UsageFilter, hourly: boolean): { where: string[]; params: SqlValue[] } {
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
}
