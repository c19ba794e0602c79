/**
 * `KeyLimits`: a client key's rules applied to one request, before any upstream call.
 *
 * `admit` runs, in order: the model allow-list (403, in memory), the key's concurrency slot (a fair FIFO
 * wait, bounded; `KeyConcurrency`), then one store transaction that counts the request in its minute and
 * reserves its estimated input tokens (and their price) in its day and month windows, each guarded by the
 * key's limit (`KeyWindowRepo.charge`). A refusal adds nothing and is a 429 with `retry-after` set to when
 * the refusing window resets. The resulting `KeyAdmission` carries the key's rate-limit state for the
 * answer's headers and is settled with the actual usage when the request ends.
 *
 * Because a request reserves its input before it runs, admitted input never exceeds a token limit; what
 * can go over is the output (and the estimate's error) of requests in flight, which are at most
 * `max_concurrency` per instance. Settings come from the client-key cache (in force everywhere within
 * `CACHE_STALENESS_MS`); counters are read and written in the store on every admission, so several
 * instances share them exactly. Keys from `API_KEY`, admin sessions and key-less loopback clients have no
 * limits and cost nothing here.
 */
import type { ClientKeyAuth } from "../admin/client_key_auth.ts";
import type { Principal } from "../app_env.ts";
import { ApiError, type ClaudeErrorType } from "../errors.ts";
import type { Logger } from "../log.ts";
import type {
  ClientKeyRecord,
  KeyWindowCharge,
  KeyWindowCounts,
  KeyWindowKind,
  Store,
} from "../store/types.ts";
import { KeyAdmission, type PriceFunction } from "./key_admission.ts";
import { KeyConcurrency } from "./key_concurrency.ts";
import { KeyLimitError } from "./key_limit_error.ts";
import { keyWindows } from "./key_windows.ts";
import { modelAllowed } from "./model_allowed.ts";
import type { LimitState, RateLimitSnapshot } from "./rate_limit_headers.ts";
import { keySettingsView } from "./key_settings_input.ts";

/** How often one instance deletes a key's finished windows. */
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** Longest model name quoted back in an error. */
const MODEL_IN_MESSAGE = 100;

export interface KeyLimitsOptions {
  store: Store;
  keys: ClientKeyAuth;
  now: () => number;
  /** Longest wait for a concurrency slot before a 429. */
  queueTimeoutMs: number;
  price: PriceFunction;
  log?: Logger;
  /** Told of every refusal with its reason (a fixed set): the server's metrics. */
  onRefused?: (reason: KeyRefusalReason) => void;
}

/** Why a key's request was refused here (the label of the rejection metric). */
export type KeyRefusalReason =
  | "invalid"
  | "disabled"
  | "expired"
  | "model_not_allowed"
  | "max_concurrency"
  | "requests_per_minute"
  | "tokens_per_day"
  | "tokens_per_month"
  | "cost_per_day"
  | "cost_per_month";

export interface AdmitRequest {
  model: string;
  /** The client went away: leave the queue. */
  signal: AbortSignal;
}

function truncate(text: string): string {
  return text.length > MODEL_IN_MESSAGE ? `${text.slice(0, MODEL_IN_MESSAGE)}…` : text;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function usd(micros: number): string {
  return `$${(micros / 1e6).toFixed(2)}`;
}

/** A stored key is "limited" (gets rate-limit headers) when it has a request or token limit. */
function tokenLimits(record: ClientKeyRecord): Array<{ kind: "day" | "month"; limit: number }> {
  const out: Array<{ kind: "day" | "month"; limit: number }> = [];
  if (record.tokens_per_day !== null) out.push({ kind: "day", limit: record.tokens_per_day });
  if (record.tokens_per_month !== null) out.push({ kind: "month", limit: record.tokens_per_month });
  return out;
}

export class KeyLimits {
  #o: KeyLimitsOptions;
  #concurrency: KeyConcurrency;
  /** Key id -> when this instance last pruned its finished windows. */
  #pruned = new Map<string, number>();

  constructor(options: KeyLimitsOptions) {
    this.#o = options;
    this.#concurrency = new KeyConcurrency({
      timeoutMs: options.queueTimeoutMs,
      onTimeout: () => this.#o.onRefused?.("max_concurrency"),
    });
  }

  /** The price function settlements use (the accounting's table). */
  get price(): PriceFunction {
    return this.#o.price;
  }

  /** The stored key behind a principal, or null when it has no rules (admin, `API_KEY`, loopback). */
  async #record(principal: Principal): Promise<ClientKeyRecord | null> {
    if (principal.kind !== "client" || principal.id === "loopback" || principal.id.startsWith("env:")) {
      return null;
    }
    const record = await this.#o.keys.record(principal.id);
    // Deleted (or changed) since authentication, seen within the cache's bound.
    if (!record) throw this.#refused("invalid", "authentication_error", "invalid client key");
    if (!record.enabled) {
      throw this.#refused("disabled", "authentication_error", "this client key is disabled");
    }
    if (record.expires_at !== null && this.#o.now() >= record.expires_at) {
      throw this.#refused("expired", "authentication_error", "this client key has expired");
    }
    return record;
  }

  /** Reports a refusal and builds the error to throw. */
  #refused(reason: KeyRefusalReason, type: ClaudeErrorType, message: string): ApiError {
    this.#o.onRefused?.(reason);
    return new ApiError(type, message);
  }

  /** Applies the key's rules to a request about to be served; throws the refusal. */
  async admit(
    principal: Principal,
    request: AdmitRequest,
    estimatedInputTokens: number,
  ): Promise<KeyAdmission> {
    const record = await this.#record(principal);
    if (!record) return KeyAdmission.unlimited(this.#o.price);
    if (!modelAllowed(record.allowed_models, request.model)) {
      throw this.#refused(
        "model_not_allowed",
        "permission_error",
        `this client key may not use model "${truncate(request.model)}"`,
      );
    }
    const now = this.#o.now();
    const windows = keyWindows(now);
    const charges = this.#charges(record, windows, estimatedInputTokens, request.model);
    const releaseSlot = record.max_concurrency === null
      ? () => {}
      : await this.#concurrency.acquire(record.id, record.max_concurrency, request.signal);
    let result;
    try {
      result = await this.#o.store.keyWindows.charge(record.id, charges);
    } catch (error) {
      releaseSlot();
      throw error;
    }
    const snapshot = this.#snapshot(record, result.counts, windows);
    if (!result.ok) {
      releaseSlot();
      throw this.#refusal(record, result.refused, result.counts, charges, windows, snapshot, now);
    }
    this.#maybePrune(record.id, windows, now);
    const reserved = charges.find((c) => c.kind !== "minute");
    return new KeyAdmission({
      keyId: record.id,
      windows: charges.filter((c) => c.kind !== "minute").map((c) => ({ kind: c.kind, start: c.start })),
      reservedTokens: reserved?.tokens ?? 0,
      reservedCostMicros: reserved?.cost_micros ?? 0,
      snapshot,
      allowedChannels: record.allowed_channels,
      releaseSlot,
      store: this.#o.store.keyWindows,
      price: this.#o.price,
      log: this.#o.log ?? null,
    });
  }

  #charges(
    record: ClientKeyRecord,
    windows: ReturnType<typeof keyWindows>,
    estimate: number,
    model: string,
  ): KeyWindowCharge[] {
    const charges: KeyWindowCharge[] = [];
    if (record.requests_per_minute !== null) {
      charges.push({
        kind: "minute",
        start: windows.minute.start,
        requests: 1,
        tokens: 0,
        cost_micros: 0,
        limits: { requests: record.requests_per_minute },
      });
    }
    const perWindow = {
      day: { tokens: record.tokens_per_day, cost: record.cost_per_day_micros },
      month: { tokens: record.tokens_per_month, cost: record.cost_per_month_micros },
    };
    const anyDayOrMonth = Object.values(perWindow).some((w) => w.tokens !== null || w.cost !== null);
    if (!anyDayOrMonth) return charges;
    const costUsd = record.cost_per_day_micros !== null || record.cost_per_month_micros !== null
      ? this.#o.price({ input_tokens: estimate, output_tokens: 0 }, model)
      : null;
    const costMicros = costUsd === null ? 0 : Math.round(costUsd * 1e6);
    // Both windows are charged whenever either has a limit, so usage is counted from the start when the
    // other limit is set later.
    for (const kind of ["day", "month"] as const) {
      const limits: KeyWindowCharge["limits"] = {};
      if (perWindow[kind].tokens !== null) limits.tokens = perWindow[kind].tokens!;
      if (perWindow[kind].cost !== null) limits.cost_micros = perWindow[kind].cost!;
      charges.push({
        kind,
        start: windows[kind].start,
        requests: 1,
        tokens: estimate,
        cost_micros: costMicros,
        limits,
      });
    }
    return charges;
  }

  #snapshot(
    record: ClientKeyRecord,
    counts: readonly KeyWindowCounts[],
    windows: ReturnType<typeof keyWindows>,
  ): RateLimitSnapshot {
    const snapshot: RateLimitSnapshot = {};
    const count = (kind: KeyWindowKind) => counts.find((c) => c.kind === kind);
    if (record.requests_per_minute !== null) {
      const used = count("minute")?.requests ?? 0;
      snapshot.requests = {
        limit: record.requests_per_minute,
        remaining: record.requests_per_minute - used,
        reset: windows.minute.end,
      };
    }
    let tightest: LimitState | undefined;
    for (const { kind, limit } of tokenLimits(record)) {
      const state = { limit, remaining: limit - (count(kind)?.tokens ?? 0), reset: windows[kind].end };
      if (!tightest || state.remaining < tightest.remaining) tightest = state;
    }
    if (tightest) snapshot.tokens = tightest;
    return snapshot;
  }

  #refusal(
    record: ClientKeyRecord,
    refused: { kind: KeyWindowKind; counter: "requests" | "tokens" | "cost_micros" },
    counts: readonly KeyWindowCounts[],
    charges: readonly KeyWindowCharge[],
    windows: ReturnType<typeof keyWindows>,
    snapshot: RateLimitSnapshot,
    now: number,
  ): KeyLimitError {
    const window = windows[refused.kind];
    const retryAfterSeconds = Math.max(1, Math.ceil((window.end - now) / 1000));
    this.#o.onRefused?.(
      refused.counter === "requests"
        ? "requests_per_minute"
        : `${refused.counter === "tokens" ? "tokens" : "cost"}_per_${
          refused.kind === "day" ? "day" : "month"
        }`,
    );
    const held = counts.find((c) => c.kind === refused.kind);
    const charge = charges.find((c) => c.kind === refused.kind);
    let message: string;
    if (refused.counter === "requests") {
      message = `this client key's requests_per_minute limit (${record.requests_per_minute}) is reached; ` +
        `it resets at ${iso(window.end)}`;
    } else if (refused.counter === "tokens") {
      const name = refused.kind === "day" ? "tokens_per_day" : "tokens_per_month";
      message = `this client key's ${name} limit (${charge?.limits.tokens}) would be exceeded: ` +
        `${held?.tokens ?? 0} tokens used or reserved, this request needs about ${charge?.tokens ?? 0}; ` +
        `the window resets at ${iso(window.end)}`;
    } else {
      const name = refused.kind === "day" ? "cost_per_day_usd" : "cost_per_month_usd";
      message = `this client key's ${name} budget (${usd(charge?.limits.cost_micros ?? 0)}) is used up ` +
        `(${usd(held?.cost_micros ?? 0)} spent or reserved); it resets at ${iso(window.end)}`;
    }
    return new KeyLimitError("rate_limit_error", message, snapshot, { retryAfterSeconds });
  }

  /** Deletes the key's finished windows now and then; never fails a request. */
  #maybePrune(keyId: string, windows: ReturnType<typeof keyWindows>, now: number): void {
    const last = this.#pruned.get(keyId);
    if (last !== undefined && now - last < PRUNE_INTERVAL_MS && now >= last) return;
    this.#pruned.set(keyId, now);
    this.#o.store.keyWindows.prune(keyId, {
      minute: windows.minute.start,
      day: windows.day.start,
      month: windows.month.start,
    }).catch((error) => this.#o.log?.warn("key window pruning failed", { keyId, error }));
  }

  /**
   * A limited key's current rate-limit state, for answers that did not go through `admit` (a 400, a 403, a
   * queue timeout, `count_tokens`, `/v1/key`): one read of its windows. Null for keys without request or
   * token limits.
   */
  async currentSnapshot(principal: Principal): Promise<RateLimitSnapshot | null> {
    if (principal.kind !== "client" || principal.id === "loopback" || principal.id.startsWith("env:")) {
      return null;
    }
    const record = await this.#o.keys.record(principal.id);
    if (!record || (record.requests_per_minute === null && tokenLimits(record).length === 0)) return null;
    const windows = keyWindows(this.#o.now());
    const counts = await this.#o.store.keyWindows.read(record.id, [
      windows.minute,
      windows.day,
      windows.month,
    ]);
    return this.#snapshot(record, counts, windows);
  }

  /** What `GET /v1/key` answers: the key's settings, its use, what remains and when each window resets. */
  async status(principal: Principal): Promise<Record<string, unknown>> {
    if (principal.kind !== "client") {
      throw new ApiError("invalid_request_error", "an admin session is not a client key; send a client key");
    }
    if (principal.id === "loopback" || principal.id.startsWith("env:")) {
      return {
        id: principal.id,
        source: principal.id === "loopback" ? "loopback" : "env",
        editable: false,
        unlimited: true,
      };
    }
    const record = await this.#record(principal);
    if (!record) throw new ApiError("authentication_error", "invalid client key");
    return {
      id: record.id,
      source: "store",
      editable: true,
      prefix: record.prefix,
      ...keySettingsView(record),
      ...(await this.budget(record)),
    };
  }

  /**
   * A stored key's use in its current windows, what its limits leave (null: no limit) and when each window
   * resets: for the key itself (`GET /v1/key`) and for the admin's key list, disabled keys included.
   */
  async budget(record: ClientKeyRecord): Promise<Record<string, unknown>> {
    const now = this.#o.now();
    const windows = keyWindows(now);
    const counts = await this.#o.store.keyWindows.read(record.id, [
      windows.minute,
      windows.day,
      windows.month,
    ]);
    const count = (kind: KeyWindowKind) => counts.find((c) => c.kind === kind)!;
    const left = (limit: number | null, used: number) => (limit === null ? null : Math.max(0, limit - used));
    const leftUsd = (limit: number | null, used: number) =>
      limit === null ? null : Math.max(0, limit - used) / 1e6;
    const minute = count("minute");
    const day = count("day");
    const month = count("month");
    return {
      usage: {
        requests_this_minute: minute.requests,
        tokens_today: day.tokens,
        tokens_this_month: month.tokens,
        cost_today_usd: day.cost_micros / 1e6,
        cost_this_month_usd: month.cost_micros / 1e6,
        in_flight_here: this.#concurrency.active(record.id),
        queued_here: this.#concurrency.waiting(record.id),
      },
      remaining: {
        requests_this_minute: left(record.requests_per_minute, minute.requests),
        tokens_today: left(record.tokens_per_day, day.tokens),
        tokens_this_month: left(record.tokens_per_month, month.tokens),
        cost_today_usd: leftUsd(record.cost_per_day_micros, day.cost_micros),
        cost_this_month_usd: leftUsd(record.cost_per_month_micros, month.cost_micros),
      },
      resets: {
        minute: iso(windows.minute.end),
        day: iso(windows.day.end),
        month: iso(windows.month.end),
      },
    };
  }
}
