/**
 * `GET /v1/usage` and `/v1/usage/recent`: token usage recorded once per request, by
 * period (`hour`, `day`, `week`, `month`, `all`; UTC), optionally for one account or model.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";

function periodStart(period: string, now: number): number {
  const d = new Date(now);
  switch (period) {
    case "hour":
      return now - 3_600_000;
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

export function createUsageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v1/usage", async (c) => {
    const period = c.req.query("period") ?? "day";
    const since = periodStart(period, deps.now());
    const filter: { accountId?: string; model?: string } = {};
    const accountId = c.req.query("account_id");
    const model = c.req.query("model");
    if (accountId) filter.accountId = accountId;
    if (model) filter.model = model;
    const rows = await deps.store.usage.summary(since, filter);
    const total = (
      k:
        | "request_count"
        | "input_tokens"
        | "output_tokens"
        | "cache_creation_input_tokens"
        | "cache_read_input_tokens",
    ) => rows.reduce((n, r) => n + r[k], 0);
    return c.json({
      period,
      start_time: new Date(since).toISOString(),
      request_count: total("request_count"),
      input_tokens: total("input_tokens"),
      output_tokens: total("output_tokens"),
      total_tokens: total("input_tokens") + total("output_tokens"),
      cache_creation_input_tokens: total("cache_creation_input_tokens"),
      cache_read_input_tokens: total("cache_read_input_tokens"),
      by_model: rows.map((r) => ({ ...r, total_tokens: r.input_tokens + r.output_tokens })),
    });
  });
  app.get("/v1/usage/recent", async (c) => {
    const limit = Math.min(1000, Math.max(1, Number.parseInt(c.req.query("limit") ?? "100", 10) || 100));
    return c.json(await deps.store.usage.recent(limit));
  });
  return app;
}
