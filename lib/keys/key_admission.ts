/**
 * `KeyAdmission`: one admitted request of a client key, from admission to its end.
 *
 * At admission the request took a concurrency slot and reserved its estimated input tokens (and their
 * cost) in the key's day and month windows. At its end `settle` replaces the reservation with what the
 * request actually used (tokens from the stream's `message_start`/`message_delta` usage, cost from the
 * price table): one store write. `release` (the request failed before any usage) takes the reservation
 * back. Either frees the slot; whichever comes first wins and later calls do nothing. A store failure
 * while settling is logged, never thrown at the client (the answer has already been given).
 */
import type { Usage } from "../claude/events.ts";
import type { Logger } from "../log.ts";
import type { KeyWindowKind, KeyWindowRepo } from "../store/types.ts";
import type { BillableUsage } from "../usage/price_table.ts";
import type { RateLimitSnapshot } from "./rate_limit_headers.ts";

/** Prices a request's usage in USD; null when the model has no price. */
export type PriceFunction = (usage: BillableUsage, model: string) => number | null;

export interface AdmissionParts {
  keyId: string | null;
  windows: ReadonlyArray<{ kind: KeyWindowKind; start: number }>;
  reservedTokens: number;
  reservedCostMicros: number;
  snapshot: RateLimitSnapshot | null;
  allowedChannels: readonly string[];
  releaseSlot: () => void;
  store: KeyWindowRepo | null;
  price: PriceFunction;
  log: Logger | null;
}

export class KeyAdmission {
  #p: AdmissionParts;
  #done = false;
  /** The store write of `settle`/`release`, for tests and the bench to wait on. */
  settled: Promise<void> = Promise.resolve();

  constructor(parts: AdmissionParts) {
    this.#p = parts;
  }

  /** An admission with no rules to keep (admin sessions, `API_KEY` keys, unlimited stored keys). */
  static unlimited(price: PriceFunction): KeyAdmission {
    return new KeyAdmission({
      keyId: null,
      windows: [],
      reservedTokens: 0,
      reservedCostMicros: 0,
      snapshot: null,
      allowedChannels: [],
      releaseSlot: () => {},
      store: null,
      price,
      log: null,
    });
  }

  /** The key's rate-limit state as admitted, for the answer's headers; null for a key without limits. */
  get snapshot(): RateLimitSnapshot | null {
    return this.#p.snapshot;
  }

  /** Channels the key may use (empty: all). */
  get allowedChannels(): readonly string[] {
    return this.#p.allowedChannels;
  }

  /** The request ended: count what it used instead of its reservation. */
  settle(actual: { inputTokens: number; outputTokens: number; costUsd: number | null }): void {
    if (this.#done) return;
    this.#done = true;
    this.#p.releaseSlot();
    const tokens = Math.max(0, actual.inputTokens) + Math.max(0, actual.outputTokens);
    const costMicros = actual.costUsd === null ? 0 : Math.round(actual.costUsd * 1e6);
    this.#write(tokens - this.#p.reservedTokens, costMicros - this.#p.reservedCostMicros);
  }

  /** `settle` from a Claude usage object: every input token (cached or not) plus output, priced. */
  settleUsage(usage: Usage, model: string): void {
    if (this.#done) return;
    const input = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) +
      (usage.cache_read_input_tokens ?? 0);
    this.settle({
      inputTokens: input,
      outputTokens: usage.output_tokens,
      costUsd: this.#p.keyId === null ? null : this.#p.price(usage as BillableUsage, model),
    });
  }

  /** The request failed before using anything: give the reservation and the slot back. */
  release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#p.releaseSlot();
    this.#write(-this.#p.reservedTokens, -this.#p.reservedCostMicros);
  }

  #write(tokens: number, costMicros: number): void {
    const { store, keyId, windows, log } = this.#p;
    if (!store || keyId === null || windows.length === 0) return;
    this.settled = store.adjust(keyId, windows, tokens, costMicros).catch((error) =>
      log?.error("key usage could not be settled", { keyId, error })
    );
  }
}
