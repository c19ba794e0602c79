/**
 * The middleware that reports every HTTP request to `Metrics` (and, when tracing is on, wraps it in a
 * request span).
 *
 * The route label is the matched route pattern (`/v2/accounts/:id`, never the raw path), so the label set is
 * bounded by the routes the app registers; a request no route matched is `unmatched`. Errors have become
 * responses by the time `next()` returns (Hono's `onError`), so the status is the one the client got.
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../app_env.ts";
import type { Metrics } from "./metrics.ts";
import type { Tracing } from "./tracing.ts";

export function observeRequests(metrics: Metrics, tracing?: Tracing): MiddlewareHandler<AppEnv> {
  const report = (c: Context<AppEnv>) => {
    const pattern = routePath(c, -1);
    const route = pattern === "" || pattern.endsWith("*") ? "unmatched" : pattern;
    const status = c.res.status;
    const channel = metrics.request(c.get("requestId"), route, c.req.method, status);
    return { route, status, channel };
  };
  // Without tracing, nothing beyond the counter: no closure or span call per request.
  if (!tracing) {
    return async (c, next) => {
      await next();
      report(c);
    };
  }
  return async (c, next) => {
    await tracing.request(c.req.method, async () => {
      await next();
      return report(c);
    });
  };
}
