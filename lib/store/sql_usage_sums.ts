/**
 * The aggregate columns shared by the usage reads and the rollup: the sums a group of raw records or of
 * hourly rows yields, and how a result row of them is read back. Kept in one place so the raw and the
 * aggregate paths add up the same way.
 */
import type { SqlRow } from "./sql_executor.ts";

export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const SUMS =
  `COUNT(*) AS request_count, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
  SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
  SUM(cache_read_input_tokens) AS cache_read_input_tokens,
  SUM(COALESCE(cost_usd, 0)) AS cost_usd,
  SUM(CASE WHEN cost_status = 'unpriced' THEN 1 ELSE 0 END) AS unpriced_count,
  SUM(CASE WHEN cache_read_input_tokens > 0 THEN 1 ELSE 0 END) AS cache_hits,
  SUM(CASE WHEN cache_read_input_tokens = 0 AND cache_creation_input_tokens > 0 THEN 1 ELSE 0 END) AS cache_misses`;

export const HOURLY_SUMS = `SUM(request_count) AS request_count, SUM(input_tokens) AS input_tokens,
  SUM(output_tokens) AS output_tokens, SUM(cache_creation_input_tokens) AS cache_creation_input_tokens,
  SUM(cache_read_input_tokens) AS cache_read_input_tokens, SUM(cost_usd) AS cost_usd,
  SUM(unpriced_count) AS unpriced_count, SUM(cache_hits) AS cache_hits, SUM(cache_misses) AS cache_misses`;

export function num(value: unknown): number {
  // MySQL's SUM over BIGINT is a DECIMAL, which its driver returns as a string.
  return Number(value ?? 0);
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export interface Sums {
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

export function emptySums(): Sums {
  return {
    request_count: 0,
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cost_usd: 0,
    unpriced_count: 0,
    cache_hits: 0,
    cache_misses: 0,
  };
}

/** Adds `s` into `into` (raw and hourly rows of one group, read separately, make one figure). */
export function addSums(into: Sums, s: Sums): void {
  into.request_count += s.request_count;
  into.input_tokens += s.input_tokens;
  into.output_tokens += s.output_tokens;
  into.cache_creation_input_tokens += s.cache_creation_input_tokens;
  into.cache_read_input_tokens += s.cache_read_input_tokens;
  into.cost_usd += s.cost_usd;
  into.unpriced_count += s.unpriced_count;
  into.cache_hits += s.cache_hits;
  into.cache_misses += s.cache_misses;
}

export function sumsOf(row: SqlRow): Sums {
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
