/**
 * `Metrics`: the server's Prometheus registry and the one object every seam reports to.
 *
 * Built once by `buildDeps` (tests build their own), so nothing here is module state. The request path only
 * adds to plain numbers found through nested maps (`LabelChildren`: no label object or key string is built
 * per request; prom-client gets the numbers when `/metrics` is scraped) and observes two histograms per
 * stream; nothing is updated per stream event. Everything that needs
 * the store or the account table (account states, which model names count as configured) is computed when
 * `/metrics` is scraped, from the pool's cached accounts and the routing settings.
 *
 * Labels come from bounded sets so a client cannot grow the registry: the route is the matched route
 * pattern, channels and outcomes are enums, account ids are bounded by the account table, and model names are
 * kept only when the routing settings (or a custom account) name them: every other name is reported as
 * `other`. Token and cost counts keep the raw model name internally (capped) and fold it at scrape time, so a
 * model added to the routing settings later is reported under its own name from then on.
 *
 * When tracing is enabled, the gateway hooks also emit one span per upstream call (`Tracing`).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Usage } from "../claude/events.ts";
import type { Account } from "../store/types.ts";
import { LabelChildren } from "./label_children.ts";
import type { Tracing, UpstreamSpanContext } from "./tracing.ts";

export interface MetricsOptions {
  /** The pool's cached account list (account state gauges). */
  accounts?: () => Promise<readonly Account[]>;
  /** Model names that may appear as labels (routing settings, custom accounts). */
  knownModels?: () => Promise<Iterable<string>>;
  now?: () => number;
  /** Process basics (RSS, heap, CPU, fds, event loop lag); off in tests that compare whole outputs. */
  processMetrics?: boolean;
  tracing?: Tracing;
}

/** Outcome of one upstream call attempt: `success` or the failure class. */
export type UpstreamOutcome = "success" | string;

/** Raw model names kept before folding; beyond this, new names go straight to `other`. */
const MAX_RAW_MODELS = 1000;
/** Requests whose channel the gateway noted but whose response was never logged (probe runs). */
const MAX_PENDING_CHANNELS = 10_000;

const TOKEN_KINDS = ["input", "output", "cache_creation", "cache_read"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];
/** Slot of each token kind in a model's counts; the cost follows them. */
const KIND_SLOT: Record<TokenKind, number> = { input: 0, output: 1, cache_creation: 2, cache_read: 3 };
const COST_SLOT = 4;

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];

/** Handle of one committed stream: ended once by the usage meter's finish callback. */
export interface StreamObservation {
  end(outcome: UpstreamOutcome): void;
}

export class Metrics {
  readonly registry = new Registry();
  #options: MetricsOptions;
  #now: () => number;
  #requests: LabelChildren<Count>;
  #upstream: LabelChildren<Count>;
  #hops: LabelChildren<Count>;
  #ttfb: LabelChildren<Histogram.Internal<"channel">>;
  #duration: LabelChildren<Histogram.Internal<"channel">>;
  #inFlight: Gauge;
  #refreshes: Counter<"channel" | "outcome">;
  #cache: LabelChildren<Count>;
  #keyRejections: LabelChildren<Count>;
  #probes: Counter<"outcome">;
  #alerts: Counter<"outcome">;
  /** Raw model -> channel -> tokens by kind (`KIND_SLOT`) and cost; folded into labels at scrape. */
  #counts = new Map<string, Map<string, Float64Array>>();
  /** requestId -> channel, from the gateway's commit to the response's request metric. */
  #channels = new Map<string, string>();

  constructor(options: MetricsOptions = {}) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const registers = [this.registry];
    this.#requests = countedBy(registers, {
      name: "amq2api_http_requests_total",
      help: "HTTP requests by matched route pattern, method, status and serving channel (none before one)",
      labelNames: ["route", "method", "status", "channel"],
    });
    this.#upstream = countedBy(registers, {
      name: "amq2api_upstream_calls_total",
      help: "Upstream calls by channel, account and outcome (success or failure class)",
      labelNames: ["channel", "account", "outcome"],
    });
    this.#hops = countedBy(registers, {
      name: "amq2api_failover_hops_total",
      help: "Failed attempts a request moved on from, by the channel that failed and the failure class",
      labelNames: ["channel", "reason"],
    });
    const ttfb = new Histogram({
      name: "amq2api_upstream_first_byte_seconds",
      help: "Time from the request reaching the gateway to the committed stream's first event, by channel",
      labelNames: ["channel"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#ttfb = new LabelChildren(["channel"], (labels) => ttfb.labels(labels));
    const duration = new Histogram({
      name: "amq2api_upstream_duration_seconds",
      help: "Time from the request reaching the gateway to the end of its stream, by channel",
      labelNames: ["channel"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#duration = new LabelChildren(["channel"], (labels) => duration.labels(labels));
    this.#inFlight = new Gauge({
      name: "amq2api_streams_in_flight",
      help: "Committed response streams not yet finished",
      registers,
    });
    this.#refreshes = new Counter({
      name: "amq2api_token_refreshes_total",
      help: "Token refreshes by channel and outcome (success, invalid_grant, failed)",
      labelNames: ["channel", "outcome"],
      registers,
    });
    this.#cache = countedBy(registers, {
      name: "amq2api_cache_lookups_total",
      help: "Prompt cache simulation lookups by result (hit, miss)",
      labelNames: ["result"],
    });
    this.#keyRejections = countedBy(registers, {
      name: "amq2api_client_key_rejections_total",
      help: "Requests refused for their client key, by reason: missing, invalid, disabled, expired, " +
        "loopback_only, model_not_allowed, channel_not_allowed, max_concurrency (queue timeout), " +
        "requests_per_minute, tokens_per_day, tokens_per_month, cost_per_day, cost_per_month",
      labelNames: ["reason"],
    });
    this.#probes = new Counter({
      name: "amq2api_account_probes_total",
      help: "Health probes of resting or disabled accounts, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.#alerts = new Counter({
      name: "amq2api_alert_deliveries_total",
      help:
        "Alert webhook deliveries by outcome (sent, failed after retries, dropped when the queue was full)",
      labelNames: ["outcome"],
      registers,
    });
    // `collect` runs with the metric as `this`; these reach the counts and providers of this object.
    const fold = () => this.#modelFolder();
    const counts = this.#counts;
    const accountList = async () => await this.#options.accounts?.() ?? [];
    const now = () => this.#now();
    new Counter({
      name: "amq2api_tokens_total",
      help: "Tokens by model (configured names, else other), channel and kind",
      labelNames: ["model", "channel", "kind"],
      registers,
      async collect() {
        this.reset();
        const folder = await fold();
        for (const [model, channels] of counts) {
          for (const [channel, slots] of channels) {
            for (const kind of TOKEN_KINDS) {
              const n = slots[KIND_SLOT[kind]]!;
              if (n > 0) this.inc({ model: folder(model), channel, kind }, n);
            }
          }
        }
      },
    });
    new Counter({
      name: "amq2api_cost_usd_total",
      help: "Estimated cost in US dollars by model (configured names, else other) and channel",
      labelNames: ["model", "channel"],
      registers,
      async collect() {
        this.reset();
        const folder = await fold();
        for (const [model, channels] of counts) {
          for (const [channel, slots] of channels) {
            const usd = slots[COST_SLOT]!;
            if (usd > 0) this.inc({ model: folder(model), channel }, usd);
          }
        }
      },
    });
    new Gauge({
      name: "amq2api_accounts",
      help: "Accounts by channel and state (usable, cooling_down, parked, disabled), as of the scrape",
      labelNames: ["channel", "state"],
      registers,
      async collect() {
        this.reset();
        const accounts = await accountList();
        const at = now();
        const counts = new Map<string, number>();
        for (const account of accounts) {
          const key = `${account.type}\u0000${accountState(account, at)}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const channel of new Set(accounts.map((a) => a.type))) {
          for (const state of ["usable", "cooling_down", "parked", "disabled"]) {
            this.set({ channel, state }, counts.get(`${channel}\u0000${state}`) ?? 0);
          }
        }
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every metric. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One HTTP request, after its response (the channel is the one the gateway committed to, if any). */
  request(requestId: string, route: string, method: string, status: number): string {
    const channel = this.#channels.get(requestId) ?? "none";
    this.#channels.delete(requestId);
    this.#requests.get(route, method, status, channel).n++;
    return channel;
  }

  /** One upstream call's outcome, as the account lifecycle records it. */
  upstreamCall(account: Pick<Account, "id" | "type">, outcome: UpstreamOutcome): void {
    this.#upstream.get(account.type, account.id, outcome).n++;
  }

  /**
   * A failed attempt before the first byte (the gateway moves on to another account or gives up).
   * `startedMs` is `performance.now()` when the attempt began (for its span).
   */
  attemptFailed(
    requestId: string,
    account: Pick<Account, "id" | "type">,
    model: string,
    reason: string,
    attempt: number,
    startedMs: number,
  ): void {
    this.#hops.get(account.type, reason).n++;
    this.#note(requestId, account.type);
    this.#options.tracing?.upstreamSpan({
      channel: account.type,
      accountId: account.id,
      model,
      outcome: reason,
      attempt,
      startedMs,
      endedMs: performance.now(),
    });
  }

  /**
   * The gateway committed a stream: counts it in flight and observes the time to first byte. The returned
   * handle is ended once, from the usage meter's finish callback.
   */
  streamStarted(
    requestId: string,
    account: Pick<Account, "id" | "type">,
    model: string,
    attempt: number,
    startedMs: number,
  ): StreamObservation {
    const channel = account.type;
    this.#note(requestId, channel);
    this.#inFlight.inc();
    this.#ttfb.get(channel).observe((performance.now() - startedMs) / 1000);
    const span: UpstreamSpanContext | undefined = this.#options.tracing?.capture();
    let ended = false;
    return {
      end: (outcome) => {
        if (ended) return;
        ended = true;
        const endedMs = performance.now();
        this.#inFlight.dec();
        this.#duration.get(channel).observe((endedMs - startedMs) / 1000);
        this.#options.tracing?.upstreamSpan({
          channel,
          accountId: account.id,
          model,
          outcome,
          attempt,
          startedMs,
          endedMs,
          parent: span,
        });
      },
    };
  }

  /** Adds `n` tokens of one kind. */
  tokens(model: string, channel: string, kind: TokenKind, n: number): void {
    if (n > 0) this.#slots(model, channel)[KIND_SLOT[kind]]! += n;
  }

  /** Adds a completed request's usage (all four kinds). */
  usage(model: string, channel: string, usage: Usage): void {
    const slots = this.#slots(model, channel);
    slots[0]! += Math.max(0, usage.input_tokens || 0);
    slots[1]! += Math.max(0, usage.output_tokens || 0);
    slots[2]! += Math.max(0, usage.cache_creation_input_tokens || 0);
    slots[3]! += Math.max(0, usage.cache_read_input_tokens || 0);
  }

  /** Adds an estimated cost in US dollars. */
  cost(model: string, channel: string, usd: number): void {
    if (usd > 0) this.#slots(model, channel)[COST_SLOT]! += usd;
  }

  /** One prompt cache simulation lookup. */
  cacheLookup(hit: boolean): void {
    this.#cache.get(hit ? "hit" : "miss").n++;
  }

  /** A request refused for its client key (`reason` from the fixed set in the metric's help). */
  keyRejected(reason: string): void {
    this.#keyRejections.get(reason).n++;
  }

  /** A token refresh finished: `success`, `invalid_grant` or `failed`. */
  tokenRefresh(channel: string, outcome: "success" | "invalid_grant" | "failed"): void {
    this.#refreshes.inc({ channel, outcome });
  }

  /** One account probed by the probe job. */
  probe(outcome: "reenabled" | "failed" | "skipped"): void {
    this.#probes.inc({ outcome });
  }

  /** One alert delivery's fate. */
  alertDelivery(outcome: "sent" | "failed" | "dropped"): void {
    this.#alerts.inc({ outcome });
  }

  #note(requestId: string, channel: string): void {
    if (this.#channels.size >= MAX_PENDING_CHANNELS) this.#channels.clear();
    this.#channels.set(requestId, channel);
  }

  /** The number slots of a model (raw name, capped: beyond the cap new names count as `other`) and channel. */
  #slots(model: string, channel: string): Float64Array {
    let channels = this.#counts.get(model);
    if (!channels) {
      const name = this.#counts.size >= MAX_RAW_MODELS ? "other" : model;
      channels = this.#counts.get(name) ?? new Map();
      this.#counts.set(name, channels);
    }
    let slots = channels.get(channel);
    if (!slots) channels.set(channel, slots = new Float64Array(COST_SLOT + 1));
    return slots;
  }

  async #modelFolder(): Promise<(model: string) => string> {
    const known = new Set(await this.#options.knownModels?.() ?? []);
    return (model) => known.has(model) ? model : "other";
  }
}

/** The state an account is in for the gauges (the same tests the pool uses to choose). */
function accountState(account: Account, now: number): "usable" | "cooling_down" | "parked" | "disabled" {
  if (!account.enabled) return "disabled";
  if (account.parked_until !== null && account.parked_until > now) return "parked";
  if (account.cooldown_until !== null && account.cooldown_until > now) return "cooling_down";
  return "usable";
}

/** One label set's count, kept by the server and handed to prom-client at scrape. */
interface Count {
  labels: Record<string, string>;
  n: number;
}

/** A prom-client counter whose values are the `Count`s of the returned children, read at scrape. */
function countedBy(
  registers: Registry[],
  options: { name: string; help: string; labelNames: string[] },
): LabelChildren<Count> {
  const children = new LabelChildren<Count>(options.labelNames, (labels) => ({ labels, n: 0 }));
  new Counter({
    ...options,
    registers,
    collect() {
      this.reset();
      for (const { labels, n } of children.all()) if (n > 0) this.inc(labels, n);
    },
  });
  return children;
}
