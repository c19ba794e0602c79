/**
 * The store's usage records (one per request), the summaries and series read over them, and the repository
 * that holds them. Re-exported from `types.ts`, the store's one interface; split out to keep that file
 * readable.
 */

/** Where a usage figure came from: the upstream's own report, our estimate, or the cache simulation. */
export type UsageSource = "upstream" | "estimate" | "simulated";

export interface UsageRecord {
  account_id: string | null;
  /** The model the client asked for. */
  model: string;
  channel: string;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** When the request started (epoch ms). */
  created_at: number;
  // Since schema 5; rows written before read as successes with unknown sources.
  key_id?: string | null;
  upstream_model?: string | null;
  request_id?: string | null;
  /** The part of `cache_creation_input_tokens` written with a 1 h lifetime. */
  cache_creation_1h_tokens?: number;
  input_source?: UsageSource | null;
  /** `upstream`, `simulated`, or null when no cache numbers apply. */
  cache_source?: UsageSource | null;
  /** Cost when written (USD), null when the model is unpriced. */
  cost_usd?: number | null;
  cost_status?: "priced" | "unpriced" | null;
  /** `success`, a failure class (`throttled`, `quota` ...), or `client_closed`. */
  outcome?: string;
  /** What went wrong, in the words of the error (bounded; never prompt or answer text), null on success. */
  error_message?: string | null;
  stop_reason?: string | null;
  streamed?: boolean | null;
  ttfb_ms?: number | null;
  duration_ms?: number | null;
}

export interface UsageSummaryRow {
  model: string;
  request_count: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** Sum of the priced requests' costs (USD). */
  cost_usd: number;
  /** Requests whose model had no price when they were recorded. */
  unpriced_requests: number;
  /** Requests that did not succeed. */
  error_count: number;
  /** Requests that read from the prompt cache, and requests that only wrote to it. */
  cache_hits: number;
  cache_misses: number;
}

export interface UsageFilter {
  accountId?: string;
  model?: string;
  /** Only this client key's records. */
  keyId?: string;
}

export type SeriesBucket = "hour" | "day";
export type SeriesGroup = "model" | "account" | "key" | "channel";

export interface SeriesQuery {
  bucket: SeriesBucket;
  from: number;
  to: number;
  groupBy?: SeriesGroup;
  keyId?: string;
}

export interface SeriesRow {
  /** Bucket start (epoch ms, UTC). */
  t: number;
  group: string | null;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cost_usd: number;
  unpriced_requests: number;
  errors: Record<string, number>;
  ttfb_p50_ms: number | null;
  ttfb_p95_ms: number | null;
}

/** Requests of one period, by result: failures exclude requests the client itself hung up on. */
export interface ActivityCounts {
  requests: number;
  successes: number;
  failures: number;
}

/** One account's recent requests: the last hour, the last 24 hours, and since the start of "today". */
export interface AccountActivity {
  account_id: string;
  hour: ActivityCounts;
  day: ActivityCounts;
  today_requests: number;
  /** When its latest failed request of the last day started (epoch ms), or null. */
  last_failure_at: number | null;
}

export interface UsageRepo {
  record(row: UsageRecord): Promise<void>;
  /** Many records in one transaction (imports, benches). */
  recordMany(rows: readonly UsageRecord[]): Promise<void>;
  summary(since: number, filter?: UsageFilter): Promise<UsageSummaryRow[]>;
  recent(limit: number, filter?: UsageFilter): Promise<Array<UsageRecord & { id: number }>>;
  /**
   * Every account's requests in the last hour (`now - 1 h`), the last day (`now - 24 h`) and since
   * `todayStart`, from raw records in one grouped read (raw records are kept at least a day). Accounts
   * without a request in the last day are absent.
   */
  accountActivity(now: number, todayStart: number): Promise<AccountActivity[]>;
  /** Buckets of usage: hourly aggregates before the rollup watermark, raw records after it. */
  series(query: SeriesQuery): Promise<SeriesRow[]>;
  /**
   * Recomputes the hourly aggregates of the complete hours before `until` that may have changed since the
   * last run (idempotent upserts) and moves the watermark; returns how many hours were rolled up.
   */
  rollup(until: number): Promise<number>;
  /** Deletes raw records before `rawBefore` (only hours already rolled up) and aggregates before `hourlyBefore`. */
  prune(rawBefore: number, hourlyBefore: number): Promise<{ raw: number; hourly: number }>;
}
