/**
 * `createApp(deps)`: the Hono application, with no I/O at import time.
 *
 * Global middleware gives every response a `request-id`, logs one JSON line per request, and limits body
 * size (small before authentication, `BODY_LIMIT_MB` only for authenticated `/v1/*`); `onError` is the one
 * place where errors before the first byte become Claude error JSON with the right status (OpenAI's shape
 * on `/v1/chat/completions` and `/v1/responses`); unknown routes are Claude 404s.
 *
 * Below that, this file is the map of every route the server answers: each sub-app is mounted here, in one
 * of three groups by who may call it (public; client key or admin session on `/v1/*`; admin session on
 * `/v2/*`), with its methods and paths written beside it. `tests/routes/route_map_test.ts` checks the
 * README's route table against the mounted routes and the authentication each one demands.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError, toApiError, UpstreamError } from "../lib/errors.ts";
import { RequestAuth } from "../lib/admin/request_auth.ts";
import { keyLimitHeaders } from "../lib/keys/key_limit_headers.ts";
import { openAIErrorBody } from "../lib/openai/openai_error_body.ts";
import { observeRequests } from "../lib/observability/observe_requests.ts";
import { createAccountRoutes } from "./accounts.ts";
import { createAdminSessionRoutes } from "./admin_session.ts";
import { createClientKeyRoutes } from "./client_keys.ts";
import { createConfigRoutes } from "./config.ts";
import { createHealthRoutes } from "./health.ts";
import { createMessageRoutes } from "./messages.ts";
import { createMetricsRoutes } from "./metrics.ts";
import { createModelRoutes } from "./models.ts";
import { createResponsesRoutes } from "./responses.ts";
import { createOwnKeyRoutes } from "./own_key.ts";
import { createStaticPageRoutes } from "./static_pages.ts";
import { createTelemetryRoutes } from "./telemetry.ts";
import { createUsageRoutes } from "./usage.ts";
import { createPricingRoutes } from "./pricing.ts";
import { createCacheStatsRoutes } from "./cache_stats.ts";
import { createAmazonQOnboardingRoutes } from "./amazonq_onboarding.ts";
import { createGeminiOAuthRoutes } from "./gemini_oauth.ts";
import { createGeminiQuotaRoutes } from "./gemini_quota.ts";
import { createOpenAIChatRoutes } from "./openai_chat.ts";

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
    // An upstream's failure was logged where it was classified (a warning); only our own faults get a stack.
    if (apiError.status >= 500 && !(error instanceof ApiError) && !(error instanceof UpstreamError)) {
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

  // ---------------------------------------------------------------- Public: anyone may call these.
  // (Each handler that needs it checks its own input: setup only while no admin exists, login is rate
  // limited, the donation flow verifies its OAuth state.)
  app.route("/", createHealthRoutes(deps)); // GET / · GET /health · GET /ready
  // GET /metrics: a METRICS_TOKEN bearer, or loopback clients when none is set.
  app.route("/", createMetricsRoutes(deps, auth));
  app.route("/", createTelemetryRoutes()); // POST /api/event_logging/batch
  // GET /admin · GET /dashboard · GET /donate · GET /oauth-callback-page · GET /static/*
  app.route("/", createStaticPageRoutes(deps));
  // GET /api/admin/status · POST /api/admin/setup · POST /api/admin/login
  // POST /api/admin/logout (admin: it needs the session it ends, and checks it itself)
  app.route("/", createAdminSessionRoutes(deps, auth));
  if (deps.geminiOAuth) {
    // GET /donate · GET /oauth-callback-page · GET /api/gemini/oauth-config
    // POST /api/gemini/oauth-callback · GET /api/gemini/oauth-callback · GET /api/gemini/accounts
    app.route(
      "/",
      createGeminiOAuthRoutes<AppEnv>({
        flow: deps.geminiOAuth,
        accounts: deps.store.accounts,
        ...(deps.config.baseUrl ? { baseUrl: deps.config.baseUrl } : {}),
        clientAddress: (c) => auth.clientAddress(c),
        // An admin signing in from the console adds an ordinary pool account, not a public donation.
        isAdmin: async (c) => {
          const token = auth.sessionToken(c);
          return token !== undefined && (await deps.admin.verifySession(token)) !== null;
        },
      }),
    );
  }

  // ---------------------------------------------------------------- Client key or admin session.
  // With no API_KEYS and no stored client key, only loopback clients are served, without a key.
  app.use("/v1/*", auth.client(), limitBody(deps.config.bodyLimitBytes, "BODY_LIMIT_MB"));
  app.use("/v1/*", keyLimitHeaders(deps.keyLimits, deps.now));
  app.route("/", createModelRoutes(deps)); // GET /v1/models
  // POST /v1/messages · POST /v1/gemini/messages · POST /v1/custom_api/messages
  // POST /v1/messages/count_tokens
  app.route("/", createMessageRoutes(deps));
  app.route("/", createResponsesRoutes(deps)); // POST /v1/responses
  app.route("/", createOwnKeyRoutes(deps)); // GET /v1/key
  app.route("/", createOpenAIChatRoutes(deps)); // POST /v1/chat/completions

  // ---------------------------------------------------------------- Admin session only.
  app.use("/v2/*", auth.admin(), limitBody(ADMIN_BODY_LIMIT, "admin API"));
  // GET /v2/accounts · POST /v2/accounts · GET /v2/accounts/export · POST /v2/accounts/import
  // POST /v2/accounts/refresh-all · GET /v2/accounts/activity · GET /v2/accounts/:id · PATCH /v2/accounts/:id · DELETE /v2/accounts/:id
  // GET /v2/accounts/:id/stats · POST /v2/accounts/:id/refresh · POST /v2/accounts/:id/test
  app.route("/", createAccountRoutes(deps));
  app.route("/", createConfigRoutes(deps)); // GET /v2/config · PUT /v2/config
  app.route("/", createClientKeyRoutes(deps)); // GET /v2/keys · POST /v2/keys · PATCH /v2/keys/:id · DELETE /v2/keys/:id
  if (deps.deviceLogins) {
    // POST /v2/auth/start · GET /v2/auth/status/:id · POST /v2/auth/claim/:id
    // POST /v2/accounts/import-token-cache
    app.route("/", createAmazonQOnboardingRoutes(deps, deps.deviceLogins, deps.deviceLoginClaim));
  }
  // GET /v2/accounts/:id/quota
  if (deps.fetchGeminiQuota) app.route("/", createGeminiQuotaRoutes(deps, deps.fetchGeminiQuota));
  app.route("/", createPricingRoutes(deps)); // GET /v2/pricing · PUT /v2/pricing
  // The old project's path, outside /v2: admin session only as well.
  app.use("/admin/cache/*", auth.admin());
  app.route("/", createCacheStatsRoutes(deps)); // GET /admin/cache/stats

  // ---------------------------------------------------------------- Both groups.
  // Mounted after both middlewares: `/v1/usage*` are client routes (a key sees its own usage), and
  // `/v2/usage/series` is an admin one.
  // GET /v1/usage · GET /v1/usage/recent · GET /v1/usage/series · GET /v2/usage/series
  app.route("/", createUsageRoutes(deps));
  return app;
}
