/**
 * `MessageGateway`: serves one Claude request from the pool, failing over before the first byte.
 *
 * Route the model, take an account from the pool, open its channel and read the head of the stream. If that
 * fails with a failure another account may fix (throttling, quota, suspension, auth, 5xx), the lifecycle
 * records it against the account and the next account is tried, up to `maxAttempts`; the client sees only the
 * final outcome. Once committed, the stream runs through `UsageMeter`, which records usage and the call
 * outcome once at the end and gives the pool its slot back.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import type { ClaudeRequest } from "../claude/request_schema.ts";
import { UsageMeter, type UsageSummary } from "../claude/usage_meter.ts";
import { ApiError, FAILOVER_CLASSES, ProtocolError, UpstreamError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { modelFallback } from "../routing/model_fallback.ts";
import type { RoutingState } from "../routing/routing_state.ts";
import type { Account, AccountType, Store } from "../store/types.ts";
import type { TokenEstimator } from "../usage/token_estimator.ts";
import type { AccountLifecycle } from "./account_lifecycle.ts";
import type { AccountPool } from "./account_pool.ts";
import type { Channel } from "./channel.ts";
import { peekStream } from "./stream_peek.ts";

export interface GatewayRequest {
  request: ClaudeRequest;
  requestId: string;
  sessionKey?: string | undefined;
  forcedAccountId?: string | undefined;
  /** Serve only from this channel (the `/v1/gemini/...` and `/v1/custom_api/...` routes). */
  forcedChannel?: AccountType | undefined;
  allowDisabled?: boolean;
  clientHeaders: Record<string, string>;
  signal: AbortSignal;
}

export interface GatewayResult {
  events: ReadableStream<ClaudeStreamEvent>;
  account: Account;
  /** The model that serves the request (a fallback's when one was used). */
  model: string;
  messageId: string;
  /** The model the client asked for. */
  requestedModel?: string;
  /** Set when a `model_fallbacks` rule moved the request: the requested model. */
  fallbackFrom?: string;
}

export interface GatewayDeps {
  store: Store;
  pool: AccountPool;
  lifecycle: AccountLifecycle;
  routing: RoutingState;
  channels: Partial<Record<AccountType, Channel>>;
  estimator: TokenEstimator;
  log: Logger;
  now: () => number;
  maxAttempts: number;
  commitAfterMs?: number;
}

function newMessageId(): string {
  return "msg_" + crypto.randomUUID().replaceAll("-", "").slice(0, 24);
}

function asUpstreamError(error: unknown): UpstreamError | null {
  if (error instanceof UpstreamError) return error;
  // `ParseError` is the SSE parser's (an event line over its buffer limit): the upstream's data, so the
  // account's failure, like a `ProtocolError`.
  if (error instanceof ProtocolError || (error instanceof Error && error.name === "ParseError")) {
    return new UpstreamError("transient", `malformed upstream data: ${error.message}`, {
      provider: "stream",
      cause: error,
    });
  }
  return null;
}

export class MessageGateway {
  #d: GatewayDeps;

  constructor(deps: GatewayDeps) {
    this.#d = deps;
  }

  /**
   * Serves the request with its model or, when no account can take that model right now, with the
   * `model_fallbacks` models in order (never for client errors or an unserved model).
   */
  async open(req: GatewayRequest): Promise<GatewayResult> {
    const requested = req.request.model;
    try {
      return { ...(await this.#openModel(req)), requestedModel: requested };
    } catch (error) {
      if (req.forcedAccountId || !modelFallback.applies(error)) throw error;
      const fallbacks = modelFallback.candidates((await this.#d.routing.config()).model_fallbacks, requested);
      for (const model of fallbacks) {
        try {
          const result = await this.#openModel({ ...req, request: { ...req.request, model } });
          this.#d.log.info("model fallback", { requestId: req.requestId, requested, model: result.model });
          return { ...result, requestedModel: requested, fallbackFrom: requested };
        } catch (next) {
          if (!modelFallback.applies(next) && !modelFallback.unserved(next)) throw next;
        }
      }
      throw error;
    }
  }

  async #openModel(req: GatewayRequest): Promise<GatewayResult> {
    const d = this.#d;
    const router = await d.routing.router();
    const route = router.route(req.request.model);
    const claimed = (Object.values(d.channels) as Channel[]).filter((ch) => ch.claims?.(req.request));
    if (claimed.length > 0) route.channels = claimed.map((ch) => ch.type);
    if (req.forcedChannel) route.channels = [req.forcedChannel];
    route.channels = route.channels.filter((ch) => d.channels[ch] !== undefined);
    const request: ClaudeRequest = { ...req.request, model: route.model };
    const inputTokens = d.estimator.countRequest(request);
    const messageId = newMessageId();
    const tried = new Set<string>();
    let lastError: unknown = null;
    const attempts = req.forcedAccountId ? 1 : d.maxAttempts;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (req.signal.aborted) throw new ApiError("api_error", "client went away", { status: 499 });
      let lease;
      try {
        lease = await d.pool.acquire(route, router, {
          sessionKey: req.sessionKey,
          exclude: tried,
          forcedAccountId: req.forcedAccountId,
          allowDisabled: req.allowDisabled ?? false,
          signal: req.signal,
        });
      } catch (error) {
        // Nothing left to try: report the failure that emptied the pool, if there was one.
        if (lastError !== null) throw lastError;
        throw error;
      }
      tried.add(lease.account.id);
      const channel = d.channels[lease.account.type];
      if (!channel) {
        lease.release(false);
        throw new ApiError("api_error", `no backend for ${lease.account.type} accounts`, { status: 503 });
      }
      try {
        const stream = await channel.open({
          request,
          upstreamModel: lease.upstreamModel,
          account: lease.account,
          messageId,
          conversationId: lease.conversationId,
          inputTokens,
          clientHeaders: req.clientHeaders,
          signal: req.signal,
        });
        const head = await peekStream(stream, d.commitAfterMs ?? 10_000);
        const account = lease.account;
        const upstreamModel = lease.upstreamModel;
        const events = head.pipeThrough(
          new UsageMeter((summary) => {
            // A client that went away says nothing about the account's health.
            lease.release(summary.completed || asUpstreamError(summary.error) === null);
            this.#finish(account, upstreamModel, route.model, summary, req.requestId).catch((error) =>
              d.log.error("usage recording failed", { requestId: req.requestId, error })
            );
          }),
        );
        return { events, account, model: route.model, messageId };
      } catch (error) {
        if (req.signal.aborted) {
          // The client went away (or the server is stopping): not the account's fault, nothing to retry.
          lease.release(true);
          throw new ApiError("api_error", "client closed the request", { status: 499, cause: error });
        }
        lease.release(false);
        const upstream = asUpstreamError(error);
        if (!upstream) throw error;
        d.log.warn("upstream call failed", {
          requestId: req.requestId,
          accountId: lease.account.id,
          kind: upstream.kind,
          status: upstream.upstreamStatus,
          error: upstream.message,
        });
        await d.lifecycle.failure(lease.account, upstream, lease.upstreamModel);
        lastError = upstream;
        if (!FAILOVER_CLASSES.has(upstream.kind) || req.signal.aborted) throw upstream;
      }
    }
    throw lastError ??
      new ApiError("overloaded_error", "no account could serve the request", { status: 503 });
  }

  async #finish(account: Account, upstreamModel: string, model: string, s: UsageSummary, requestId: string) {
    const d = this.#d;
    if (s.completed) {
      await d.lifecycle.success(account);
      await d.store.usage.record({
        account_id: account.id,
        model,
        channel: account.type,
        input_tokens: s.usage.input_tokens,
        output_tokens: s.usage.output_tokens,
        cache_creation_input_tokens: s.usage.cache_creation_input_tokens ?? 0,
        cache_read_input_tokens: s.usage.cache_read_input_tokens ?? 0,
        created_at: d.now(),
      });
      return;
    }
    const upstream = asUpstreamError(s.error);
    if (upstream) {
      d.log.warn("upstream stream failed", {
        requestId,
        accountId: account.id,
        kind: upstream.kind,
        error: upstream.message,
      });
      await d.lifecycle.failure(account, upstream, upstreamModel);
    }
  }
}
