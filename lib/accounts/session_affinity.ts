/**
 * Sticky sessions: a conversation keeps its account and its upstream conversation id.
 *
 * Keyed by the client's session (`x-claude-code-session-id`, else `metadata.user_id`, else a hash of the
 * first turn; see `sessionKeyOf`). Bindings expire after a TTL without use, and an account takes at most
 * `maxPerAccount` sessions (at the default weight 50, scaled by its weight) so one account does not collect
 * every conversation. The cap follows the weight because a flat cap flattens the weights: with many short
 * conversations the heavy accounts filled up first and the light ones took the overflow (a 10/30/60 pool
 * served 16/37/47). Held per instance; a lost binding only costs a new account choice, never a failed
 * request.
 */

interface Binding {
  accountId: string;
  conversationId: string;
  expiresAt: number;
}

export class SessionAffinity {
  #bindings = new Map<string, Binding>();
  #perAccount = new Map<string, number>();
  #ttlMs: number;
  #maxPerAccount: number;
  #maxBindings: number;

  constructor(options: { ttlMs?: number; maxPerAccount?: number; maxBindings?: number } = {}) {
    this.#ttlMs = options.ttlMs ?? 3_600_000;
    this.#maxPerAccount = options.maxPerAccount ?? 64;
    this.#maxBindings = options.maxBindings ?? 100_000;
  }

  /** The live binding of a session, if any (renews its TTL). */
  get(key: string, now: number): Binding | undefined {
    const binding = this.#bindings.get(key);
    if (!binding) return undefined;
    if (binding.expiresAt <= now) {
      this.#remove(key, binding);
      return undefined;
    }
    binding.expiresAt = now + this.#ttlMs;
    return binding;
  }

  /** True when the account already holds its share of sessions (`maxPerAccount` per 50 of `weight`). */
  isFull(accountId: string, weight = 50): boolean {
    const cap = Math.max(1, Math.ceil(this.#maxPerAccount * Math.max(1, weight) / 50));
    return (this.#perAccount.get(accountId) ?? 0) >= cap;
  }

  /** Binds (or rebinds) a session to an account; keeps the conversation id when one exists. */
  bind(key: string, accountId: string, now: number, conversationId?: string): Binding {
    const old = this.#bindings.get(key);
    if (old) this.#remove(key, old);
    if (this.#bindings.size >= this.#maxBindings) this.#evictExpired(now);
    const binding = {
      accountId,
      conversationId: conversationId ?? old?.conversationId ?? crypto.randomUUID(),
      expiresAt: now + this.#ttlMs,
    };
    this.#bindings.set(key, binding);
    this.#perAccount.set(accountId, (this.#perAccount.get(accountId) ?? 0) + 1);
    return binding;
  }

  get size(): number {
    return this.#bindings.size;
  }

  #remove(key: string, binding: Binding): void {
    this.#bindings.delete(key);
    const n = (this.#perAccount.get(binding.accountId) ?? 1) - 1;
    if (n <= 0) this.#perAccount.delete(binding.accountId);
    else this.#perAccount.set(binding.accountId, n);
  }

  #evictExpired(now: number): void {
    for (const [key, binding] of this.#bindings) {
      if (binding.expiresAt <= now) this.#remove(key, binding);
    }
    // Still full: drop the oldest (Map order is insertion order).
    while (this.#bindings.size >= this.#maxBindings) {
      const [key, binding] = this.#bindings.entries().next().value!;
      this.#remove(key, binding);
    }
  }
}
