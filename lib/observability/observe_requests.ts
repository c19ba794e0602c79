/**
 * The middleware that reports every HTTP request to `Metrics` (and, when tracing is on, wraps it in a
 * request span).
 *
 * The route label is the matched route pattern (`/v2/accounts/:id`, never the raw path), so the label set is
 * bounded by the routes the app registers; a request no route matched is `unmatched`. Errors have become
 * responses by the time `next()` returns (Hono's `onError`), so the status is the one the client got.
 */
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../app_env.ts";
import type { Metrics } from "./metrics.ts";
import type { Tracing } from "./tracing.ts";

export function observeRequests(metrics: Metrics, tracing?: Tracing): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const run = async () => {
      await next();
      const pattern = routePath(c, -1);
      const route = pattern === "" || pattern.endsWith("*") ? "unmatched" : pattern;
      const status = c.res.status;
      const channel = metrics.request(c.get("requestId"), route, c.req.method, status);
      return { route, status, channel };
    };
    if (tracing) await tracing.request(c.req.method, run);
    else await run();
  };
}
