/**
 * `MessageGateway`: serves one Claude request from the pool, failing over before the first byte.
 *
 * Route the model, take an account from the pool, open its channel and read the head of the stream. If that
 * fails with a failure another account may fix (throttling, quota, suspension, auth, 5xx), the lifecycle
 * records it against the account and the next account is tried, up to `maxAttempts`; the client sees only the
 * final outcome. Once committed, the stream runs through `UsageMeter`, which records usage and the call
 * outcome once at the end and gives the pool its slot back.
 *
 * Accounting: before an account is chosen the request is counted (calibrated) and its cache breakpoints
 * validated; for a channel whose upstream reports no cache numbers the prompt-cache lookup runs alongside
 * the upstream call, the split goes into the stream's usage (`UsageSplitStage`) and the cache entries are
 * written once the head was read. Every request, served or not, ends in one usage record.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import type { ClaudeRequest } from "../claude/request_schema.ts";
import { UsageMeter, type UsageSummary } from "../claude/usage_meter.ts";
import { ApiError, FAILOVER_CLASSES } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../observability/metrics.ts";
import { modelFallback } from "../routing/model_fallback.ts";
import type { RoutingState } from "../routing/routing_state.ts";
import type { Account, AccountType, Store } from "../store/types.ts";
import type { TokenEstimator } from "../usage/token_estimator.ts";
import type { PreparedInput, UsageAccounting } from "../usage/usage_accounting.ts";
import { type UsageObservation, UsageSplitStage } from "../usage/usage_split_stage.ts";
import type { CacheSimulation, CacheUsage } from "../usage/prompt_cache_simulator.ts";
import type { AccountLifecycle } from "./account_lifecycle.ts";
import type { AccountPool } from "./account_pool.ts";
import type { Channel } from "./channel.ts";
import { asUpstreamError, requestOutcome } from "./request_outcome.ts";
import { peekStream } from "./stream_peek.ts";
import { StageChain } from "../stage_chain.ts";

export interface GatewayRequest {
  request: ClaudeRequest;
  requestId: string;
  sessionKey?: string | undefined;
  forcedAccountId?: string | undefined;
  /** Serve only from this channel (the `/v1/gemini/...` and `/v1/custom_api/...` routes). */
  forcedChannel?: AccountType | undefined;
  allowDisabled?: boolean;
  /** Channels the client key may use (empty or absent: all). */
  allowedChannels?: readonly string[];
  clientHeaders: Record<string, string>;
  signal: AbortSignal;
  /** Whose prompt cache and usage this is: `key:<client key id>` or `admin:<admin id>`. */
  scope?: string;
  /** The client key id for the usage record (null for admin sessions). */
  keyId?: string | null;
  /** Simulate Anthropic's automatic caching for a request without cache markers (OpenAI clients). */
  automaticCache?: boolean;
  /**
   * Called once when the answer's stream ends, however it ends, with the usage it reported and the model
   * that served it (after the gateway's own accounting), from the same stage, so no extra stage is needed.
   */
  onSettled?: (summary: UsageSummary, model: string) => void;
}

/** What a usage record needs to know about a request while it runs. */
interface RequestTrace {
  started: number;
  at: number;
  input: PreparedInput | null;
  account: Account | null;
  upstreamModel: string | null;
  ttfbMs: number | null;
  cache: "simulated" | "upstream" | null;
  observed: UsageObservation;
  model: string;
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
  accounting: UsageAccounting;
  log: Logger;
  now: () => number;
  maxAttempts: number;
  commitAfterMs?: number;
  metrics?: Metrics;
}

function newMessageId(): string {
  return "msg_" + crypto.randomUUID().replaceAll("-", "").slice(0, 24);
}

export class MessageGateway {
  #d: GatewayDeps;

  constructor(deps: GatewayDeps) {
    this.#d = deps;
  }

  /** The input tokens `message_start` will report for this request (what `count_tokens` answers). */
  async countInput(request: ClaudeRequest): Promise<number> {
    const router = await this.#d.routing.router();
    const model = router.route(request.model).model;
    return this.#d.accounting.inputTotal(model, await this.#d.estimator.countRequestAsync(request));
  }

  async open(req: GatewayRequest): Promise<GatewayResult> {
    const trace: RequestTrace = {
      started: performance.now(),
      at: this.#d.now(),
      input: null,
      account: null,
      upstreamModel: null,
      ttfbMs: null,
      cache: null,
      observed: { upstreamInput: null },
      model: req.request.model,
    };
    try {
      return await this.#openWithFallbacks(req, trace);
    } catch (error) {
      this.#record(req, trace, {
        usage: { input_tokens: 0, output_tokens: 0 },
        stopReason: null,
        completed: false,
        error,
      })
        .catch((e) => this.#d.log.error("usage recording failed", { requestId: req.requestId, error: e }));
      throw error;
    }
  }

  /**
   * Serves the request with its model or, when no account can take that model right now, with the
   * `model_fallbacks` models in order (never for client errors or an unserved model). The usage record keeps
   * the requested model; its upstream model names what served.
   */
  async #openWithFallbacks(req: GatewayRequest, trace: RequestTrace): Promise<GatewayResult> {
    const requested = req.request.model;
    try {
      return { ...(await this.#open(req, trace)), requestedModel: requested };
    } catch (error) {
      if (req.forcedAccountId || !modelFallback.applies(error)) throw error;
      const fallbacks = modelFallback.candidates((await this.#d.routing.config()).model_fallbacks, requested);
      for (const model of fallbacks) {
        try {
          const result = await this.#open({ ...req, request: { ...req.request, model } }, trace);
          this.#d.log.info("model fallback", { requestId: req.requestId, requested, model: result.model });
          return { ...result, requestedModel: requested, fallbackFrom: requested };
        } catch (next) {
          if (!modelFallback.applies(next) && !modelFallback.unserved(next)) throw next;
        }
      }
      throw error;
    }
  }

  async #open(req: GatewayRequest, trace: RequestTrace): Promise<GatewayResult> {
    const d = this.#d;
    const router = await d.routing.router();
    const route = router.route(req.request.model);
    const claimed = (Object.values(d.channels) as Channel[]).filter((ch) => ch.claims?.(req.request));
    if (claimed.length > 0) route.channels = claimed.map((ch) => ch.type);
    if (req.forcedChannel) route.channels = [req.forcedChannel];
    const available = route.channels.filter((ch) => d.channels[ch] !== undefined);
    const allowed = req.allowedChannels;
    route.channels = allowed?.length ? available.filter((ch) => allowed.includes(ch)) : available;
    if (available.length > 0 && route.channels.length === 0) {
      const model = req.request.model.length > 100
        ? `${req.request.model.slice(0, 100)}…`
        : req.request.model;
      d.metrics?.keyRejected("channel_not_allowed");
      throw new ApiError(
        "permission_error",
        `model "${model}" is not served by a channel this client key may use`,
      );
    }
    const request: ClaudeRequest = { ...req.request, model: route.model };
    const input = d.accounting.prepare(request, req.scope ?? "", route.model, req.automaticCache);
    trace.input = input;
    const inputTokens = input.total;
    let lookup: Promise<CacheSimulation | null> | null = null;
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
      trace.account = lease.account;
      trace.upstreamModel = lease.upstreamModel;
      const t0 = performance.now();
      const channel = d.channels[lease.account.type];
      if (!channel) {
        lease.release(false);
        throw new ApiError("api_error", `no backend for ${lease.account.type} accounts`, { status: 503 });
      }
      // Run the cache lookup while the upstream answers; a passthrough upstream reports real numbers.
      const passthrough = channel.reportsCacheUsage?.(lease.account) ?? false;
      if (!passthrough && input.simulation && !lookup) {
        lookup = input.simulation.simulate().catch((error) => {
          d.log.warn("prompt cache lookup failed", { requestId: req.requestId, error });
          return null;
        });
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
        const { head, rest } = await peekStream(stream, d.commitAfterMs ?? 10_000);
        trace.ttfbMs = performance.now() - trace.started;
        const obs = d.metrics?.streamStarted(req.requestId, lease.account, route.model, attempt, t0);
        const account = lease.account;
        const upstreamModel = lease.upstreamModel;
        // The usage stages run as one chain: one pipe for every event instead of one per stage.
        const stages: Transformer<ClaudeStreamEvent, ClaudeStreamEvent>[] = [];
        if (!passthrough) {
          const simulation = lookup ? await lookup : null;
          simulation?.commit().catch((error) =>
            d.log.warn("prompt cache write failed", { requestId: req.requestId, error })
          );
          trace.cache = simulation ? "simulated" : null;
          stages.push(
            UsageSplitStage.transformer(
              simulation?.usage ?? plainInput(inputTokens),
              inputTokens,
              trace.observed,
            ),
          );
        } else trace.cache = "upstream";
        stages.push(UsageMeter.transformer((summary) => {
          // A client that went away says nothing about the account's health.
          lease.release(summary.completed || asUpstreamError(summary.error) === null);
          obs?.end(summary.completed ? "success" : asUpstreamError(summary.error)?.kind ?? "cancelled");
          this.#finish(account, upstreamModel, summary, req, trace).catch((error) =>
            d.log.error("usage recording failed", { requestId: req.requestId, error })
          );
          req.onSettled?.(summary, route.model);
        }));
        const events = rest.pipeThrough(new StageChain<ClaudeStreamEvent, ClaudeStreamEvent>(stages, head));
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
        d.metrics?.attemptFailed(req.requestId, lease.account, route.model, upstream.kind, attempt, t0);
        lastError = upstream;
        if (!FAILOVER_CLASSES.has(upstream.kind) || req.signal.aborted) throw upstream;
      }
    }
    throw lastError ??
      new ApiError("overloaded_error", "no account could serve the request", { status: 503 });
  }

  async #finish(
    account: Account,
    upstreamModel: string,
    s: UsageSummary,
    req: GatewayRequest,
    trace: RequestTrace,
  ) {
    const d = this.#d;
    if (s.completed) {
      await d.lifecycle.success(account);
      d.metrics?.usage(trace.model, account.type, s.usage);
    } else {
      const upstream = asUpstreamError(s.error);
      if (upstream) {
        d.log.warn("upstream stream failed", {
          requestId: req.requestId,
          accountId: account.id,
          kind: upstream.kind,
          error: upstream.message,
        });
        await d.lifecycle.failure(account, upstream, upstreamModel);
      }
    }
    await this.#record(req, trace, s);
  }

  /** Writes the request's one usage record (served or not) and feeds the calibration. */
  async #record(req: GatewayRequest, trace: RequestTrace, s: UsageSummary): Promise<void> {
    const d = this.#d;
    const u = s.usage;
    const input = trace.input;
    const model = trace.model;
    const reported = u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
    let inputSource: "upstream" | "estimate" | null = null;
    if (trace.cache === "upstream") {
      inputSource = "upstream";
      if (input && reported > 0) d.accounting.observe(model, input.estimate, reported);
    } else if (trace.observed.upstreamInput !== null) {
      inputSource = "upstream";
      if (input) d.accounting.observe(model, input.estimate, trace.observed.upstreamInput);
    } else if (trace.ttfbMs !== null) inputSource = "estimate";
    const cost = await d.accounting.cost(u, model, trace.upstreamModel);
    if (cost.usd !== null) d.metrics?.cost(model, trace.account?.type ?? "none", cost.usd);
    await d.store.usage.record({
      account_id: trace.account?.id ?? null,
      model,
      channel: trace.account?.type ?? "none",
      input_tokens: u.input_tokens,
      output_tokens: u.output_tokens,
      cache_creation_input_tokens: u.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: u.cache_read_input_tokens ?? 0,
      created_at: trace.at,
      key_id: req.keyId ?? null,
      upstream_model: trace.upstreamModel,
      request_id: req.requestId,
      cache_creation_1h_tokens: u.cache_creation?.ephemeral_1h_input_tokens ?? 0,
      input_source: inputSource,
      cache_source: trace.ttfbMs === null ? null : trace.cache,
      cost_usd: cost.usd,
      cost_status: cost.priced ? "priced" : "unpriced",
      ...(s.completed ? { outcome: "success", error_message: null } : requestOutcome(s.error, req.signal)),
      stop_reason: s.stopReason,
      streamed: req.request.stream === true,
      ttfb_ms: trace.ttfbMs,
      duration_ms: performance.now() - trace.started,
    });
  }
}

/** No cache numbers at all: the whole input is plain input. */
function plainInput(total: number): CacheUsage {
  return {
    input_tokens: total,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  };
}
