/**
 * Where the Gemini OAuth flow keeps its pending sign-ins between `begin` and `complete`: each `state` with
 * its PKCE verifier, redirect URI and expiry, taken at most once.
 *
 * `MemoryPendingSignIns` keeps them in this instance (tests, a single process); `StorePendingSignIns`
 * keeps them in the store, so a user who starts on one instance can finish on another. Both bound how many
 * may wait, because the route that starts a sign-in is public.
 */
import type { OAuthStateRepo } from "../store/types.ts";

export interface PendingSignIn {
  verifier: string;
  redirectUri: string;
  expiresAt: number;
  /** The client address that began it (for `SignInsPerAddress`; not kept by the stores). */
  owner?: string;
}

export interface PendingSignInStore {
  /** Keeps a pending sign-in; false when too many are waiting. */
  put(state: string, pending: PendingSignIn, now: number): Promise<boolean>;
  /** Removes and returns a pending sign-in (single use), expired or not; null when unknown. */
  take(state: string): Promise<PendingSignIn | null>;
}

export class MemoryPendingSignIns implements PendingSignInStore {
  #pending = new Map<string, PendingSignIn>();
  #max: number;

  constructor(max = 1000) {
    this.#max = max;
  }

  put(state: string, pending: PendingSignIn, now: number): Promise<boolean> {
    for (const [key, value] of this.#pending) if (value.expiresAt <= now) this.#pending.delete(key);
    // Map iteration is insertion order: beyond the bound the oldest sign-in gives way.
    for (const key of this.#pending.keys()) {
      if (this.#pending.size < this.#max) break;
      this.#pending.delete(key);
    }
    this.#pending.set(state, pending);
    return Promise.resolve(true);
  }

  take(state: string): Promise<PendingSignIn | null> {
    const pending = this.#pending.get(state) ?? null;
    this.#pending.delete(state);
    return Promise.resolve(pending);
  }
}

export class StorePendingSignIns implements PendingSignInStore {
  #repo: OAuthStateRepo;
  #max: number;

  constructor(repo: OAuthStateRepo, max = 10_000) {
    this.#repo = repo;
    this.#max = max;
  }

  put(state: string, pending: PendingSignIn, now: number): Promise<boolean> {
    const data = JSON.stringify({ verifier: pending.verifier, redirectUri: pending.redirectUri });
    return this.#repo.put(state, data, pending.expiresAt, now, this.#max);
  }

  async take(state: string): Promise<PendingSignIn | null> {
    const row = await this.#repo.take(state);
    if (!row) return null;
    const data = JSON.parse(row.data) as { verifier: string; redirectUri: string };
    return { verifier: data.verifier, redirectUri: data.redirectUri, expiresAt: row.expiresAt };
  }
}
