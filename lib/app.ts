/**
 * `createApp(deps)`: the Hono application, with no I/O at import time.
 *
 * Global middleware gives every response a `request-id`, logs one JSON line per request, and limits body
 * size (small before authentication, `BODY_LIMIT_MB` only for authenticated `/v1/*`); `onError` is the one
 * place where errors before the first byte become Claude error JSON with the right status (OpenAI's shape
 * on `/v1/chat/completions` and `/v1/responses`); unknown routes are Claude 404s. Route areas are mounted
 * from `routes/`, each behind the auth it needs.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv, Deps } from "./app_env.ts";
import { ApiError, toApiError } from "./errors.ts";
import { RequestAuth } from "./admin/request_auth.ts";
import { openAIErrorBody } from "./openai/openai_error_body.ts";
import { observeRequests } from "./observability/observe_requests.ts";
import { createAccountRoutes } from "../routes/accounts.ts";
import { createAdminSessionRoutes } from "../routes/admin_session.ts";
import { createClientKeyRoutes } from "../routes/client_keys.ts";
import { createConfigRoutes } from "../routes/config.ts";
import { createHealthRoutes } from "../routes/health.ts";
import { createMessageRoutes } from "../routes/messages.ts";
import { createMetricsRoutes } from "../routes/metrics.ts";
import { createModelRoutes } from "../routes/models.ts";
import { createResponsesRoutes } from "../routes/responses.ts";
import { createStaticPageRoutes } from "../routes/static_pages.ts";
import { createTelemetryRoutes } from "../routes/telemetry.ts";
import { createUsageRoutes } from "../routes/usage.ts";

/** Body limits of the routes that are not `/v1/*` (which has `BODY_LIMIT_MB`). */
const PUBLIC_BODY_LIMIT = 64 * 1024;
const TELEMETRY_BODY_LIMIT = 1024 * 1024;
/** Account imports come as one JSON body. */
const ADMIN_BODY_LIMIT = 16 * 1024 * 1024;

function sizeText(bytes: number): string {
  return bytes >= 1048576 ? `${Math.round(bytes / 1048576)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/** OpenAI clients get OpenAI's error shape. */
function openAIShape(error: ApiError, path: string): Record<string, unknown> | null {
  return path === "/v1/chat/completions" || path === "/v1/responses"
    ? { ...openAIErrorBody(error).body }
    : null;
}

export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = new RequestAuth(deps);

  app.use(async (c, next) => {
    const requestId = "req_" + crypto.randomUUID().replaceAll("-", "").slice(0, 24);
    c.set("requestId", requestId);
    const started = performance.now();
    await next();
    c.header("request-id", requestId);
    deps.log.info("request", {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  });

  app.use(observeRequests(deps.metrics, deps.tracing));

  // Bodies are limited before they are read, and by who is asking: routes anyone can reach take small
  // bodies, so unauthenticated clients cannot make the server buffer megabytes; `/v1/*` and `/v2/*` get
  // their larger limits only after their authentication has passed (see below).
  const limitBody = (bytes: number, name: string) =>
    bodyLimit({
      maxSize: bytes,
      onError: () => {
        throw new ApiError(
          "request_too_large",
          `request body exceeds the limit of ${sizeText(bytes)} (${name})`,
        );
      },
    });
  const publicLimit = limitBody(PUBLIC_BODY_LIMIT, "unauthenticated routes");
  const telemetryLimit = limitBody(TELEMETRY_BODY_LIMIT, "telemetry");
  app.use((c, next) => {
    const path = c.req.path;
    if (/^\/v[12](\/|$)/.test(path)) return next();
    return (path === "/api/event_logging/batch" ? telemetryLimit : publicLimit)(c, next);
  });

  app.onError((error, c) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500 && !(error instanceof ApiError)) {
      deps.log.error("request failed", {
        requestId: c.get("requestId"),
        error,
        stack: (error as Error)?.stack,
      });
    }
    if (apiError.retryAfterSeconds !== undefined) c.header("retry-after", String(apiError.retryAfterSeconds));
    c.header("request-id", c.get("requestId"));
    const openAIBody = openAIShape(apiError, c.req.path);
    if (openAIBody) return c.json(openAIBody, apiError.status as 400);
    return c.json(apiError.toBody(), apiError.status as 400);
  });

  app.notFound((c) => {
    c.header("request-id", c.get("requestId"));
    return c.json(
      new ApiError("not_found_error", `no route for ${c.req.method} ${c.req.path}`).toBody(),
      404,
    );
  });

  app.route("/", createHealthRoutes(deps));
  app.route("/", createMetricsRoutes(deps, auth));
  app.route("/", createTelemetryRoutes());
  app.route("/", createStaticPageRoutes(deps));
  app.route("/", createAdminSessionRoutes(deps, auth));

  app.use("/v1/*", auth.client(), limitBody(deps.config.bodyLimitBytes, "BODY_LIMIT_MB"));
  app.route("/", createModelRoutes(deps));
  app.route("/", createMessageRoutes(deps));
  app.route("/", createResponsesRoutes(deps));
  app.route("/", createUsageRoutes(deps));

  app.use("/v2/*", auth.admin(), limitBody(ADMIN_BODY_LIMIT, "admin API"));
  app.route("/", createAccountRoutes(deps));
  app.route("/", createConfigRoutes(deps));
  app.route("/", createClientKeyRoutes(deps));

  for (const module of deps.routeModules ?? []) app.route("/", module(deps));
  return app;
}
