/**
 * The usage rollup and retention. `rollup` folds complete hours of raw records into `usage_hourly` (one row
 * per hour, model, account, key, channel and outcome), then whole days of those into `usage_daily`, and
 * moves the watermark kept in the `meta` table. An hour is recomputed from its raw records as a whole
 * (delete and insert in one transaction), so running the rollup twice, or on two instances, gives the same
 * rows. `prune` drops raw records only once they are rolled up, and aggregates past their retention.
 */
import type { SqlDialect } from "./sql_dialect.ts";
import type { SqlExecutor, SqlRow } from "./sql_executor.ts";
import { SqlUsageRanges, WATERMARK_KEY } from "./sql_usage_ranges.ts";
import { DAY, HOUR, HOURLY_SUMS, num, percentile, SUMS, sumsOf } from "./sql_usage_sums.ts";

/** Hours before the watermark recomputed on every run, for records written after their hour was rolled up. */
const REDO_HOURS = 2;
/** A first rollup never reaches further back than the aggregates are kept. */
const MAX_BACKFILL = 366 * DAY;

export class SqlUsageRollup {
  #db: SqlExecutor;
  #dialect: SqlDialect;
  #table: string;
  #hourly: string;
  #daily: string;
  #meta: string;
  #ranges: SqlUsageRanges;

  constructor(
    db: SqlExecutor,
    dialect: SqlDialect,
    ranges: SqlUsageRanges = new SqlUsageRanges(db, dialect),
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#table = dialect.table("usage_records");
    this.#hourly = dialect.table("usage_hourly");
    this.#daily = dialect.table("usage_daily");
    this.#meta = dialect.table("meta");
    this.#ranges = ranges;
  }

  async rollup(until: number): Promise<number> {
    const end = Math.floor(until / HOUR) * HOUR;
    const watermark = await this.#ranges.watermark();
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
    const watermark = await this.#ranges.watermark();
    const rawLimit = Math.min(rawBefore, watermark - REDO_HOURS * HOUR);
    const raw = rawLimit > 0
      ? await this.#db.run(`DELETE FROM ${this.#table} WHERE created_at < ?`, [rawLimit])
      : 0;
    const hourly = await this.#db.run(`DELETE FROM ${this.#hourly} WHERE hour < ?`, [hourlyBefore]);
    await this.#db.run(`DELETE FROM ${this.#daily} WHERE hour < ?`, [Math.floor(hourlyBefore / DAY) * DAY]);
    return { raw, hourly };
  }
}
