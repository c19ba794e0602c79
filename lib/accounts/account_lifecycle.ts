/**
 * What happens to an account after an upstream call, persisted in the store so it survives restarts and is
 * shared by every instance (a cooled-down account must not be retried by the instance next door).
 *
 * Every outcome is recorded as a call (success, or failure with its class). Throttled accounts cool down
 * until the upstream's retry hint (or a default); exhausted ones are parked until their reset time (a Gemini
 * account only for the exhausted model) and resume by themselves because selection compares times; suspended
 * and invalid-grant accounts are disabled with the reason and the time. Client faults and context overflows
 * are the request's fault, not the account's, and leave it untouched.
 */
import type { FailureClass, UpstreamError } from "../errors.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Account, Store } from "../store/types.ts";

export interface LifecycleOptions {
  defaultCooldownMs?: number;
  /** Parking when an upstream says "exhausted" without a reset time. */
  defaultParkMs?: number;
  authCooldownMs?: number;
  metrics?: Metrics;
  /** Told (without waiting) when an Amazon Q account ran out of quota: the allowance is read again. */
  onQuotaExhausted?: (account: Account) => void;
}

export class AccountLifecycle {
  #store: Store;
  #now: () => number;
  #cooldownMs: number;
  #parkMs: number;
  #authCooldownMs: number;
  #metrics: Metrics | undefined;
  #onQuotaExhausted: ((account: Account) => void) | undefined;

  constructor(store: Store, now: () => number, options: LifecycleOptions = {}) {
    this.#store = store;
    this.#now = now;
    this.#cooldownMs = options.defaultCooldownMs ?? 60_000;
    this.#parkMs = options.defaultParkMs ?? 3_600_000;
    this.#authCooldownMs = options.authCooldownMs ?? 300_000;
    this.#metrics = options.metrics;
    this.#onQuotaExhausted = options.onQuotaExhausted;
  }

  async success(account: Account): Promise<void> {
    this.#metrics?.upstreamCall(account, "success");
    await this.#store.accounts.recordCall(account.id, "success", null, this.#now());
  }

  /** Applies a classified failure; `model` is the upstream model (for per-model quota). */
  async failure(account: Account, error: UpstreamError, model: string): Promise<void> {
    const now = this.#now();
    const kind: FailureClass = error.kind;
    this.#metrics?.upstreamCall(account, kind);
    if (kind === "client" || kind === "context_overflow") return;
    await this.#store.accounts.recordCall(account.id, "failure", kind, now);
    const message = error.message.slice(0, 500);
    switch (kind) {
      case "throttled":
        await this.#store.accounts.update(account.id, {
          cooldown_until: now + (error.retryAfterMs ?? this.#cooldownMs),
          last_error: message,
        });
        break;
      case "quota_exhausted": {
        const until = error.resetAt && error.resetAt > now ? error.resetAt : now + this.#parkMs;
        if (account.type === "gemini") {
          const parked = {
            ...(account.other.quota_parked as Record<string, number> | undefined),
            [model]: until,
          };
          await this.#store.accounts.patchOther(account.id, { quota_parked: parked });
          await this.#store.accounts.update(account.id, { last_error: message });
        } else {
          await this.#store.accounts.update(account.id, { parked_until: until, last_error: message });
          if (account.type === "amazonq") this.#onQuotaExhausted?.(account);
        }
        break;
      }
      case "suspended":
      case "invalid_grant":
        await this.#store.accounts.update(account.id, {
          enabled: false,
          disabled_reason: `${kind}: ${message}`.slice(0, 500),
          disabled_at: now,
          last_error: message,
        });
        break;
      case "auth":
        await this.#store.accounts.update(account.id, {
          cooldown_until: now + this.#authCooldownMs,
          last_error: message,
        });
        break;
      case "transient":
        await this.#store.accounts.update(account.id, { last_error: message });
        break;
    }
  }
}
