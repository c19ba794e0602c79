/**
 * Usage APIs over the per-request usage records and their hourly aggregates.
 *
 * - `GET /v1/usage`: totals and per-model rows by period (`hour`, `day`, `week`, `month`, `all`; UTC),
 *   optionally for one account or model, with cost (USD, computed when each record was written; requests of
 *   unpriced models counted apart) and a `cache` part.
 * - `GET /v1/usage/recent`: the latest records.
 * - `GET /v2/usage/series` (admin) and `GET /v1/usage/series` (any caller, own usage only): buckets by hour or
 *   day over `from`..`to`, grouped by model, account, key or channel.
 * A client key sees only its own records and never account ids; an admin session sees everything.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import type { SeriesGroup, SeriesQuery, UsageFilter, UsageSummaryRow } from "../lib/store/types.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MAX_RANGE = { hour: 31 * DAY, day: 366 * DAY } as const;

function periodStart(period: string, now: number): number {
  const d = new Date(now);
  switch (period) {
    case "hour":
      return now - HOUR;
    case "day":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case "week": {
      const day = (d.getUTCDay() + 6) % 7;
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
    }
    case "month":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "all":
      return 0;
    default:
      throw new ApiError("invalid_request_error", "period: must be hour, day, week, month or all");
  }
}

/** The caller's own key id when it is a client key; undefined for an admin (who sees everything). */
function ownKey(c: Context<AppEnv>): string | undefined {
  const principal = c.get("principal");
  return principal.kind === "client" ? principal.id : undefined;
}

function time(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) {
    throw new ApiError("invalid_request_error", `${name}: an ISO time or epoch milliseconds`);
  }
  return n;
}

function seriesQuery(c: Context<AppEnv>, now: number): SeriesQuery {
  const bucket = c.req.query("bucket") ?? "hour";
  if (bucket !== "hour" && bucket !== "day") {
    throw new ApiError("invalid_request_error", "bucket: must be hour or day");
  }
  const to = time("to", c.req.query("to"), now);
  const from = time("from", c.req.query("from"), to - (bucket === "hour" ? DAY : 30 * DAY));
  if (from >= to) throw new ApiError("invalid_request_error", "from: must be before to");
  if (to - from > MAX_RANGE[bucket]) {
    throw new ApiError(
      "invalid_request_error",
      `from..to: at most ${MAX_RANGE[bucket] / DAY} days with bucket=${bucket}`,
    );
  }
  const group = c.req.query("group_by");
  if (group !== undefined && !["model", "account", "key", "channel"].includes(group)) {
    throw new ApiError("invalid_request_error", "group_by: must be model, account, key or channel");
  }
  const query: SeriesQuery = { bucket, from, to };
  if (group) query.groupBy = group as SeriesGroup;
  return query;
}

export function createUsageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v1/usage", async (c) => {
    const period = c.req.query("period") ?? "day";
    const since = periodStart(period, deps.now());
    const keyId = ownKey(c);
    const filter: UsageFilter = {};
    const accountId = c.req.query("account_id");
    const model = c.req.query("model");
    if (accountId) {
      if (keyId !== undefined) {
        throw new ApiError("permission_error", "account_id: requires an admin session");
      }
      filter.accountId = accountId;
    }
    if (model) filter.model = model;
    if (keyId !== undefined) filter.keyId = keyId;
    const rows = await deps.store.usage.summary(since, filter);
    const total = (k: Exclude<keyof UsageSummaryRow, "model">) => rows.reduce((n, r) => n + r[k], 0);
    const hits = total("cache_hits");
    const misses = total("cache_misses");
    // An admin also sees the simulation's own counters (this process) and the shared store's size.
    const shared = keyId === undefined ? await deps.accounting.cacheStats() : null;
    return c.json({
      period,
      start_time: new Date(since).toISOString(),
      request_count: total("request_count"),
      input_tokens: total("input_tokens"),
      output_tokens: total("output_tokens"),
      total_tokens: total("input_tokens") + total("output_tokens"),
      cache_creation_input_tokens: total("cache_creation_input_tokens"),
      cache_read_input_tokens: total("cache_read_input_tokens"),
      cost_usd: Math.round(total("cost_usd") * 1e9) / 1e9,
      unpriced_requests: total("unpriced_requests"),
      error_count: total("error_count"),
      cache: {
        hits,
        misses,
        hit_rate: hits + misses === 0 ? 0 : hits / (hits + misses),
        ...(shared
          ? {
            simulation_enabled: shared.enabled,
            entries: shared.entries,
            evictions: shared.evictions,
            process_hits: shared.hits,
            process_misses: shared.misses,
          }
          : {}),
      },
      by_model: rows.map((r) => ({ ...r, total_tokens: r.input_tokens + r.output_tokens })),
    });
  });
  app.get("/v1/usage/recent", async (c) => {
    const limit = Math.min(1000, Math.max(1, Number.parseInt(c.req.query("limit") ?? "100", 10) || 100));
    const keyId = ownKey(c);
    const records = await deps.store.usage.recent(limit, keyId === undefined ? {} : { keyId });
    if (keyId === undefined) return c.json(records);
    return c.json(records.map(({ account_id: _hidden, ...rest }) => rest));
  });
  const series = (own: boolean) => async (c: Context<AppEnv>) => {
    const query = seriesQuery(c, deps.now());
    const keyId = own ? ownKey(c) : undefined;
    if (keyId !== undefined) {
      if (query.groupBy === "account") {
        throw new ApiError("permission_error", "group_by=account requires an admin session");
      }
      query.keyId = keyId;
    }
    const rows = await deps.store.usage.series(query);
    return c.json({
      bucket: query.bucket,
      from: new Date(query.from).toISOString(),
      to: new Date(query.to).toISOString(),
      group_by: query.groupBy ?? null,
      data: rows.map((r) => ({ ...r, t: new Date(r.t).toISOString() })),
    });
  };
  app.get("/v1/usage/series", series(true));
  app.get("/v2/usage/series", series(false));
  return app;
}
