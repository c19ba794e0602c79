/**
 * `GET /metrics`: this instance's Prometheus metrics.
 *
 * With `METRICS_TOKEN` set, a scraper sends it as `Authorization: Bearer`; without it only clients on this
 * machine are served (the same loopback test as the key-less API mode, so a local reverse proxy does not open
 * it to the world). Each instance exposes its own numbers; Prometheus sums them across instances.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import type { RequestAuth } from "../lib/admin/request_auth.ts";
import { digestsEqual, secretDigest } from "../lib/admin/secret_digest.ts";
import { ApiError } from "../lib/errors.ts";

export function createMetricsRoutes(deps: Deps, auth: RequestAuth): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const tokenDigest = deps.config.metricsToken ? secretDigest(deps.config.metricsToken) : null;
  app.get("/metrics", async (c) => {
    if (tokenDigest) {
      const bearer = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
      if (!bearer || !digestsEqual(secretDigest(bearer), tokenDigest)) {
        throw new ApiError("authentication_error", "send METRICS_TOKEN as Authorization: Bearer");
      }
    } else if (!auth.isLocalClient(c)) {
      throw new ApiError(
        "permission_error",
        "no METRICS_TOKEN is configured, so /metrics only answers local clients",
      );
    }
    const body = await deps.metrics.exposition();
    return c.body(body, 200, { "content-type": deps.metrics.contentType, "cache-control": "no-store" });
  });
  return app;
}
