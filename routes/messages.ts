/**
 * `POST /v1/messages` (also `?beta=true`, as Claude Code sends it) and `POST /v1/messages/count_tokens`;
 * `POST /v1/gemini/messages` and `POST /v1/custom_api/messages` are the same restricted to one channel.
 *
 * The request is validated and normalized, then served by the gateway (routing, account choice, failover
 * before the first byte). `stream:true` answers SSE through `sseBody` (pings, one `error` event on failure);
 * `stream:false` collects the same events into one message, so an upstream failure there is a proper error
 * status. `X-Account-ID` (and `X-Test-Mode` for a disabled account) is honoured only for an admin session.
 * A client key's rules (`KeyLimits`) are applied before the gateway is opened; the admission is settled
 * with the usage the stream reports when it ends, and a limited key's rate-limit headers go on every
 * answer, refusals included.
 */
import { Hono } from "hono";
import { sseResponse } from "../lib/sse_response.ts";
import type { Context } from "hono";
import { MessageCollector } from "../lib/claude/message_collector.ts";
import { normalizeClaudeRequest } from "../lib/claude/normalize_request.ts";
import { countTokensRequestSchema, messagesRequestSchema } from "../lib/claude/request_schema.ts";
import { sseBody } from "../lib/claude/sse_body.ts";
import type { ClaudeRequest } from "../lib/claude/request_schema.ts";
import { sessionKeyOf } from "../lib/accounts/session_key.ts";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import { readJsonBody } from "../lib/read_json_body.ts";
import type { GatewayResult } from "../lib/accounts/message_gateway.ts";
import type { AccountType } from "../lib/store/types.ts";
import { KeyLimitError } from "../lib/keys/key_limit_error.ts";
import { rateLimitHeaders, type RateLimitSnapshot } from "../lib/keys/rate_limit_headers.ts";

const FORWARDED_HEADERS = ["anthropic-version", "anthropic-beta"];

/** A gateway result with the rate-limit headers of the client key (empty for a key without limits). */
export type AdmittedResult = GatewayResult & { limitHeaders: Record<string, string> };

/** Sets a limited key's rate-limit headers, in the dialect of the route answering. */
function limitHeaders(
  deps: Deps,
  c: Context<AppEnv>,
  snapshot: RateLimitSnapshot | null,
): Record<string, string> {
  if (!snapshot) return {};
  const dialect = c.req.path === "/v1/chat/completions" ? "openai" : "anthropic";
  const headers = rateLimitHeaders(snapshot, dialect, deps.now());
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return headers;
}

/** Copies the rate-limit headers onto a response built outside the context (a stream). */
export function withLimitHeaders(response: Response, result: AdmittedResult): Response {
  for (const [name, value] of Object.entries(result.limitHeaders)) response.headers.set(name, value);
  return response;
}

/**
 * Opens the gateway for a normalized request, applying the admin-only account forcing rules and the client
 * key's rules. The upstream call is cancelled when the client goes away or the server shuts down.
 */
export async function openForRequest(
  deps: Deps,
  c: Context<AppEnv>,
  request: ClaudeRequest,
  forcedChannel?: AccountType,
  options: { automaticCache?: boolean } = {},
): Promise<AdmittedResult> {
  const forced = c.req.header("x-account-id");
  const principal = c.get("principal");
  if (forced && principal.kind !== "admin") {
    throw new ApiError("permission_error", "X-Account-ID requires an admin session");
  }
  if (forced && forcedChannel) {
    // An admin's forced account must belong to the route's channel, or the route would not mean what it says.
    const account = await deps.store.accounts.get(forced);
    if (account && account.type !== forcedChannel) {
      throw new ApiError(
        "invalid_request_error",
        `X-Account-ID: account ${forced} is a ${account.type} account, not ${forcedChannel}`,
      );
    }
  }
  const clientHeaders: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = c.req.header(name);
    if (value) clientHeaders[name] = value;
  }
  // Counted here, large texts off the event loop; the gateway's own count then finds this total.
  const estimate = await deps.estimator.countRequestAsync(request);
  const signal = AbortSignal.any([c.req.raw.signal, deps.shutdownSignal]);
  let admission;
  try {
    admission = await deps.keyLimits.admit(principal, { model: request.model, signal }, estimate);
  } catch (error) {
    if (error instanceof KeyLimitError) limitHeaders(deps, c, error.snapshot);
    throw error;
  }
  const headers = limitHeaders(deps, c, admission.snapshot);
  let result: GatewayResult;
  try {
    result = await deps.gateway.open({
      request,
      requestId: c.get("requestId"),
      sessionKey: sessionKeyOf(c.req.header("x-claude-code-session-id"), request),
      forcedAccountId: forced,
      forcedChannel,
      allowDisabled: forced !== undefined && c.req.header("x-test-mode")?.toLowerCase() === "true",
      allowedChannels: admission.allowedChannels,
      clientHeaders,
      signal,
      scope: `${principal.kind === "admin" ? "admin" : "key"}:${principal.id}`,
      keyId: principal.kind === "client" ? principal.id : null,
      automaticCache: options.automaticCache ?? false,
      // Settled once, when the stream ends however it ends, with the usage it reported.
      onSettled: (summary, model) => admission.settleUsage(summary.usage, model),
    });
  } catch (error) {
    admission.release();
    throw error;
  }
  // On `c.res` (not `c.header`): Hono carries these headers over to a streamed Response the route returns.
  if (result.fallbackFrom) c.res.headers.set("x-amq2api-model-fallback", result.fallbackFrom);
  return { ...result, limitHeaders: headers };
}

/** Logs, with the request and account ids, a stream that ended with an error after its first byte. */
export function logStreamError(
  deps: Deps,
  c: Context<AppEnv>,
  result: GatewayResult,
): (error: unknown) => void {
  return (error) =>
    deps.log.warn("stream ended with an error", {
      requestId: c.get("requestId"),
      accountId: result.account.id,
      error,
    });
}

export function createMessageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const messages = (forcedChannel?: AccountType) => async (c: Context<AppEnv>) => {
    const raw = await readJsonBody(c, messagesRequestSchema);
    const request = normalizeClaudeRequest(raw);
    if (request.messages.length === 0) {
      throw new ApiError(
        "invalid_request_error",
        "messages: at least one user or assistant message is required",
      );
    }
    const result = await openForRequest(deps, c, request, forcedChannel);
    if (!request.stream) {
      const message = await MessageCollector.collect(result.events);
      return c.json(message);
    }
    const body = sseBody(result.events, {
      pingIntervalMs: deps.pingIntervalMs,
      onError: logStreamError(deps, c, result),
    });
    return withLimitHeaders(sseResponse(body, c.get("requestId")), result);
  };

  app.post("/v1/messages", messages());
  // Routes that pin a channel; existing scripts use them.
  app.post("/v1/gemini/messages", messages("gemini"));
  app.post("/v1/custom_api/messages", messages("custom_api"));

  app.post("/v1/messages/count_tokens", async (c) => {
    const raw = await readJsonBody(c, countTokensRequestSchema);
    const request = normalizeClaudeRequest(raw);
    // The same number `message_start` reports for this request (calibrated; cache parts included).
    return c.json({ input_tokens: await deps.gateway.countInput(request) });
  });

  return app;
}
