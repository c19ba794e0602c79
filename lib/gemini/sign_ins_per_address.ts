/**
 * `SignInsPerAddress`: a `PendingSignInStore` in front of another that lets each client address keep only a
 * few pending sign-ins; beyond that the address's oldest one gives way.
 *
 * Starting a sign-in is public (the donation page), and the store behind holds a bounded number of them
 * server-wide: without a share per address, one client could fill that bound and block every real donor
 * until its states expired. Evicting the address's own oldest state (instead of refusing) keeps a person who
 * opened the page in several tabs working. The bookkeeping lives in this instance's memory and is bounded:
 * entries leave when taken, when they expire, or when more are tracked than the store behind could hold.
 */
import type { PendingSignIn, PendingSignInStore } from "./pending_sign_ins.ts";

interface Tracked {
  owner: string;
  expiresAt: number;
}

export class SignInsPerAddress implements PendingSignInStore {
  #inner: PendingSignInStore;
  #perAddress: number;
  #maxTracked: number;
  /** state -> owner, in insertion order (which, with one TTL, is also expiry order). */
  #states = new Map<string, Tracked>();
  /** owner -> its states, oldest first. */
  #owners = new Map<string, string[]>();

  constructor(inner: PendingSignInStore, perAddress = 5, maxTracked = 10_000) {
    this.#inner = inner;
    this.#perAddress = perAddress;
    this.#maxTracked = maxTracked;
  }

  async put(state: string, pending: PendingSignIn, now: number): Promise<boolean> {
    this.#forgetExpired(now);
    const owner = pending.owner;
    if (owner !== undefined) {
      let mine = this.#owners.get(owner) ?? [];
      // Bounded: each pass removes one of the owner's states.
      while (mine.length >= this.#perAddress) {
        const oldest = mine[0]!;
        this.#forget(oldest);
        await this.#inner.take(oldest);
        mine = this.#owners.get(owner) ?? [];
      }
    }
    if (!(await this.#inner.put(state, pending, now))) return false;
    if (owner !== undefined) {
      this.#states.set(state, { owner, expiresAt: pending.expiresAt });
      const mine = this.#owners.get(owner) ?? [];
      mine.push(state);
      this.#owners.set(owner, mine);
      for (const key of this.#states.keys()) {
        if (this.#states.size <= this.#maxTracked) break;
        this.#forget(key);
      }
    }
    return true;
  }

  take(state: string): Promise<PendingSignIn | null> {
    this.#forget(state);
    return this.#inner.take(state);
  }

  #forgetExpired(now: number): void {
    for (const [state, tracked] of this.#states) {
      if (tracked.expiresAt > now) break;
      this.#forget(state);
    }
  }

  #forget(state: string): void {
    const tracked = this.#states.get(state);
    if (!tracked) return;
    this.#states.delete(state);
    const mine = this.#owners.get(tracked.owner)?.filter((s) => s !== state) ?? [];
    if (mine.length === 0) this.#owners.delete(tracked.owner);
    else this.#owners.set(tracked.owner, mine);
  }
}
