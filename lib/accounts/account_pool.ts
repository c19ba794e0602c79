/**
 * `AccountPool`: chooses the account that serves a request, and keeps the bookkeeping that choice needs.
 *
 * Among the accounts of the allowed channels it skips the disabled, the cooling down, the parked (whole
 * account, or the one Gemini model whose quota is exhausted), those over `rate_limit_per_hour` (sliding
 * window) and those at their in-flight cap; then it picks at random weighted by `weight` and health (recent
 * success rate, requests in flight). A conversation stays on its account while that account is usable
 * (`SessionAffinity`). When every candidate is merely busy, the request waits briefly in a bounded queue
 * instead of failing at once. Account rows are cached (`StoreCache`): the store announces every account
 * write, so a change made here is seen at once and one made by another instance within `stalenessMs`.
 *
 * When nothing can be chosen, the error tells the client what to do: a model no enabled account can serve is
 * a 404 (retrying will not help), accounts resting or at their hourly limit give a 429 whose `retry-after` is
 * the soonest recovery, and accounts merely busy give a 529 after the wait.
 */
import { ApiError } from "../errors.ts";
import type { ModelRoute, ModelRouter } from "../routing/model_router.ts";
import { StoreCache } from "../store/store_cache.ts";
import type { Account, Store } from "../store/types.ts";
import { CallWindow } from "./call_window.ts";
import { SessionAffinity } from "./session_affinity.ts";

export interface PoolOptions {
  now?: () => number;
  random?: () => number;
  /** How long a busy request may wait for a slot. */
  waitTimeoutMs?: number;
  /** How many requests may wait at once. */
  maxWaiters?: number;
  /** How long another instance's account change may go unseen (default 1 s). */
  stalenessMs?: number;
  sessions?: SessionAffinity;
}

export interface Lease {
  account: Account;
  upstreamModel: string;
  conversationId: string;
  /** Gives the slot back; call exactly once. `ok` feeds the health score. */
  release(ok: boolean): void;
}

export interface AcquireOptions {
  sessionKey?: string | undefined;
  /** Accounts already tried for this request. */
  exclude?: ReadonlySet<string>;
  /** Admin-forced account (`X-Account-ID`); `allowDisabled` lets an admin test a disabled one. */
  forcedAccountId?: string | undefined;
  allowDisabled?: boolean;
  signal?: AbortSignal;
}

interface Health {
  score: number;
}

const HEALTH_ALPHA = 0.2;

/** Longest model name echoed in an error: the name is client input and may be huge. */
const MODEL_NAME_ECHO = 64;

/** The model name as error messages show it: JSON-quoted, cut to a readable length. */
function shortModelName(model: string): string {
  return JSON.stringify(model.length > MODEL_NAME_ECHO ? model.slice(0, MODEL_NAME_ECHO) + "…" : model);
}

export class AccountPool {
  #store: Store;
  #now: () => number;
  #random: () => number;
  #waitTimeoutMs: number;
  #maxWaiters: number;
  #cache: StoreCache<Account[]>;
  #inflight = new Map<string, number>();
  #health = new Map<string, Health>();
  #window = new CallWindow();
  #sessions: SessionAffinity;
  #waiters: Array<() => void> = [];

  constructor(store: Store, options: PoolOptions = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#waitTimeoutMs = options.waitTimeoutMs ?? 10_000;
    this.#maxWaiters = options.maxWaiters ?? 256;
    this.#cache = new StoreCache(store.changes, "accounts", () => store.accounts.list(), {
      stalenessMs: options.stalenessMs ?? 1000,
    });
    this.#sessions = options.sessions ?? new SessionAffinity();
  }

  /** Reloads the rate-limit window from the store (start-up and scheduled runs). */
  async syncCallWindow(): Promise<void> {
    const now = this.#now();
    this.#window.load(await this.#store.accounts.countAllCallsSince(now - 3_600_000), now);
  }

  inflight(accountId: string): number {
    return this.#inflight.get(accountId) ?? 0;
  }

  accounts(): Promise<Account[]> {
    return this.#cache.get();
  }

  /** Accounts usable right now (enabled, not cooling down, not parked), for `/ready` and `/v1/models`. */
  async usableAccounts(): Promise<Account[]> {
    const now = this.#now();
    return (await this.accounts()).filter((a) => this.#available(a, now));
  }

  /** Chooses an account for the route; waits briefly when all candidates are busy. */
  async acquire(route: ModelRoute, router: ModelRouter, options: AcquireOptions = {}): Promise<Lease> {
    // Waiting is measured on the monotonic clock: the injected clock is for account state and may stand still.
    const deadline = performance.now() + this.#waitTimeoutMs;
    for (;;) {
      const result = await this.#tryAcquire(route, router, options);
      if ("lease" in result) return result.lease;
      if (result.reason !== "busy") throw result.error;
      if (this.#waiters.length >= this.#maxWaiters || performance.now() >= deadline) {
        throw new ApiError(
          "overloaded_error",
          `every account that serves model ${shortModelName(route.model)} is busy`,
          { retryAfterSeconds: 5 },
        );
      }
      await this.#waitForSlot(deadline - performance.now(), options.signal);
    }
  }

  async #tryAcquire(
    route: ModelRoute,
    router: ModelRouter,
    options: AcquireOptions,
  ): Promise<{ lease: Lease } | { reason: "busy" | "none"; error: ApiError }> {
    const now = this.#now();
    if (options.forcedAccountId) return this.#forced(route, router, options, now);
    const all = await this.accounts();
    const candidates: Array<{ account: Account; model: string }> = [];
    let busy = 0;
    let disabled = 0;
    let tried = 0;
    let soonest: number | null = null;
    for (const account of all) {
      if (!route.channels.includes(account.type)) continue;
      const model = router.upstreamModel(account, route.model);
      if (model === null) continue;
      if (!account.enabled) {
        disabled++;
        continue;
      }
      if (options.exclude?.has(account.id)) {
        tried++;
        continue;
      }
      const until = this.#blockedUntil(account, model, now);
      if (until !== null) {
        soonest = soonest === null ? until : Math.min(soonest, until);
        continue;
      }
      if (account.max_inflight > 0 && this.inflight(account.id) >= account.max_inflight) {
        busy++;
        continue;
      }
      candidates.push({ account, model });
    }
    if (candidates.length === 0) {
      const name = shortModelName(route.model);
      if (busy > 0) return { reason: "busy", error: new ApiError("overloaded_error", "all accounts busy") };
      if (soonest !== null) {
        return {
          reason: "none",
          error: new ApiError(
            "rate_limit_error",
            `every account that serves model ${name} is cooling down, parked or at its hourly limit`,
            { retryAfterSeconds: Math.max(1, Math.ceil((soonest - now) / 1000)) },
          ),
        };
      }
      if (tried > 0) {
        return {
          reason: "none",
          error: new ApiError("api_error", `every account that serves model ${name} failed`, { status: 502 }),
        };
      }
      // Nothing will serve this model until an operator acts: a 404 that clients do not retry.
      const missing = disabled > 0
        ? "every account that could serve it is disabled"
        : route.channels.length === 0
        ? "no channel serves it"
        : `no channel serves it (no ${route.channels.join(" or ")} account can)`;
      return { reason: "none", error: new ApiError("not_found_error", `model ${name}: ${missing}`) };
    }
    const chosen = this.#sticky(candidates, options.sessionKey, now) ?? this.#weighted(candidates);
    return { lease: this.#lease(chosen.account, chosen.model, options.sessionKey, now) };
  }

  async #forced(
    route: ModelRoute,
    router: ModelRouter,
    options: AcquireOptions,
    now: number,
  ): Promise<{ lease: Lease } | { reason: "none"; error: ApiError }> {
    const account = await this.#store.accounts.get(options.forcedAccountId!);
    if (!account) {
      return {
        reason: "none",
        error: new ApiError("not_found_error", `account ${options.forcedAccountId} not found`),
      };
    }
    if (!account.enabled && !options.allowDisabled) {
      return { reason: "none", error: new ApiError("permission_error", `account ${account.id} is disabled`) };
    }
    const model = router.upstreamModel(account, route.model) ?? route.model;
    return { lease: this.#lease(account, model, options.sessionKey, now) };
  }

  /** When the account (or its quota for `model`) becomes usable again, or null if it is usable now. */
  #blockedUntil(account: Account, model: string, now: number): number | null {
    const resting = this.#restingUntil(account, now);
    if (resting !== null) return resting;
    const parkedModels = account.other.quota_parked;
    if (parkedModels && typeof parkedModels === "object") {
      const until = Object.hasOwn(parkedModels, model)
        ? (parkedModels as Record<string, unknown>)[model]
        : null;
      if (typeof until === "number" && until > now) return until;
    }
    if (account.rate_limit_per_hour > 0) {
      return this.#window.freeAt(account.id, account.rate_limit_per_hour, now);
    }
    return null;
  }

  /** End of the account's cooldown or parking, whichever applies now, or null. */
  #restingUntil(account: Account, now: number): number | null {
    if (account.cooldown_until !== null && account.cooldown_until > now) return account.cooldown_until;
    if (account.parked_until !== null && account.parked_until > now) return account.parked_until;
    return null;
  }

  #available(account: Account, now: number): boolean {
    return account.enabled && this.#restingUntil(account, now) === null;
  }

  #sticky(
    candidates: Array<{ account: Account; model: string }>,
    sessionKey: string | undefined,
    now: number,
  ): { account: Account; model: string } | null {
    if (!sessionKey) return null;
    const binding = this.#sessions.get(sessionKey, now);
    if (!binding) return null;
    return candidates.find((c) => c.account.id === binding.accountId) ?? null;
  }

  #weighted(candidates: Array<{ account: Account; model: string }>): { account: Account; model: string } {
    // Accounts that already hold their share of sticky sessions step back while others have room.
    const roomy = candidates.filter((c) => !this.#sessions.isFull(c.account.id, c.account.weight));
    const pool = roomy.length > 0 ? roomy : candidates;
    let total = 0;
    const scores = pool.map((c) => {
      const health = this.#health.get(c.account.id)?.score ?? 1;
      const score = Math.max(1, c.account.weight) * (0.05 + 0.95 * health) /
        (1 + this.inflight(c.account.id));
      total += score;
      return score;
    });
    let r = this.#random() * total;
    for (let i = 0; i < pool.length; i++) {
      r -= scores[i]!;
      if (r < 0) return pool[i]!;
    }
    return pool[pool.length - 1]!;
  }

  #lease(account: Account, model: string, sessionKey: string | undefined, now: number): Lease {
    this.#inflight.set(account.id, this.inflight(account.id) + 1);
    this.#window.add(account.id, now);
    let conversationId: string = crypto.randomUUID();
    if (sessionKey) {
      const existing = this.#sessions.get(sessionKey, now);
      conversationId = existing && existing.accountId === account.id
        ? existing.conversationId
        : this.#sessions.bind(sessionKey, account.id, now, existing?.conversationId).conversationId;
    }
    let released = false;
    return {
      account,
      upstreamModel: model,
      conversationId,
      release: (ok: boolean) => {
        if (released) return;
        released = true;
        const n = this.inflight(account.id) - 1;
        if (n <= 0) this.#inflight.delete(account.id);
        else this.#inflight.set(account.id, n);
        const health = this.#health.get(account.id) ?? { score: 1 };
        health.score = health.score * (1 - HEALTH_ALPHA) + (ok ? 1 : 0) * HEALTH_ALPHA;
        this.#health.set(account.id, health);
        this.#waiters.shift()?.();
      },
    };
  }

  #waitForSlot(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(new ApiError("api_error", "client went away while waiting for an account", { status: 499 }));
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(1, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }
}
