/**
 * `GET /v2/accounts/{id}/quota`: a Gemini account's per-model quota as stored by the
 * quota job. `?refresh=true` reads it from Google now, at most once a minute per account, so the button in
 * the console cannot be turned into a flood of upstream calls.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import { type QuotaFetcher, refreshAccountQuota } from "../lib/gemini/quota_refresh_job.ts";

const MIN_REFRESH_MS = 60_000;

export function createGeminiQuotaRoutes(deps: Deps, fetchQuota: QuotaFetcher): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v2/accounts/:id/quota", async (c) => {
    const account = await deps.store.accounts.get(c.req.param("id"));
    if (!account) throw new ApiError("not_found_error", `account ${c.req.param("id")} not found`);
    if (account.type !== "gemini") {
      throw new ApiError("invalid_request_error", "only gemini accounts have a model quota");
    }
    let quota = account.other.quota ?? {};
    let updatedAt = typeof account.other.quota_updated_at === "string"
      ? account.other.quota_updated_at
      : null;
    if (c.req.query("refresh") === "true") {
      const age = updatedAt ? deps.now() - Date.parse(updatedAt) : Infinity;
      if (age < MIN_REFRESH_MS) {
        throw new ApiError("rate_limit_error", "quota was read less than a minute ago", {
          retryAfterSeconds: Math.ceil((MIN_REFRESH_MS - age) / 1000),
        });
      }
      try {
        quota = await refreshAccountQuota({ ...deps, fetchQuota }, account);
      } catch (error) {
        throw new ApiError(
          "api_error",
          `quota lookup failed: ${error instanceof Error ? error.message : error}`,
          {
            status: 502,
          },
        );
      }
      updatedAt = new Date(deps.now()).toISOString();
    }
    return c.json({ account_id: account.id, quota, quota_updated_at: updatedAt });
  });
  return app;
}
