/**
 * `createApp(deps)`: the Hono application, with no I/O at import time.
 *
 * Global middleware gives every response a `request-id`, logs one JSON line per request, and limits body
 * size; `onError` is the one place where errors before the first byte become Claude error JSON with the right
 * status (OpenAI's shape on `/v1/chat/completions` and `/v1/responses`); unknown routes are Claude 404s.
 * Route areas are mounted from `routes/`, each behind the auth it needs.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv, Deps } from "./app_env.ts";
import { ApiError, toApiError } from "./errors.ts";
import { RequestAuth } from "./admin/request_auth.ts";
import { openAIErrorBody } from "./openai/openai_error_body.ts";
import { createAccountRoutes } from "../routes/accounts.ts";
import { createAdminSessionRoutes } from "../routes/admin_session.ts";
import { createClientKeyRoutes } from "../routes/client_keys.ts";
import { createConfigRoutes } from "../routes/config.ts";
import { createHealthRoutes } from "../routes/health.ts";
import { createMessageRoutes } from "../routes/messages.ts";
import { createModelRoutes } from "../routes/models.ts";
import { createResponsesRoutes } from "../routes/responses.ts";
import { createStaticPageRoutes } from "../routes/static_pages.ts";
import { createTelemetryRoutes } from "../routes/telemetry.ts";
import { createUsageRoutes } from "../routes/usage.ts";

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

  app.use(bodyLimit({
    maxSize: deps.config.bodyLimitBytes,
    onError: () => {
      throw new ApiError(
        "request_too_large",
        `request body exceeds the limit of ${
          Math.round(deps.config.bodyLimitBytes / 1048576)
        } MiB (BODY_LIMIT_MB)`,
      );
    },
  }));

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
  app.route("/", createTelemetryRoutes());
  app.route("/", createStaticPageRoutes(deps));
  app.route("/", createAdminSessionRoutes(deps, auth));

  app.use("/v1/*", auth.client());
  app.route("/", createModelRoutes(deps));
  app.route("/", createMessageRoutes(deps));
  app.route("/", createResponsesRoutes(deps));
  app.route("/", createUsageRoutes(deps));

  app.use("/v2/*", auth.admin());
  app.route("/", createAccountRoutes(deps));
  app.route("/", createConfigRoutes(deps));
  app.route("/", createClientKeyRoutes(deps));

  for (const module of deps.routeModules ?? []) app.route("/", module(deps));
  return app;
}
