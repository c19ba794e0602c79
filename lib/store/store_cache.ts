/**
 * A value computed from store state (the account list, the routing config, the client keys), kept in
 * memory with a bounded staleness across processes.
 *
 * `get()` answers from memory while it is current. It is current until this `Store` object writes the area
 * (seen at once: the write counter differs) or until `stalenessMs` has passed since the last check; then one
 * primary-key read of the area's change counter says whether another process wrote it, and only then is
 * the value reloaded. So a write anywhere is in force everywhere within `stalenessMs` plus one reload, and
 * the request path costs at most one small read per `stalenessMs`. Concurrent callers share one reload.
 * The counter is read before the data: a write between the two is picked up by the next check.
 */
import type { StoreArea, StoreChanges } from "./types.ts";

export interface StoreCacheOptions {
  /** How long a checked value is used before the change counter is read again. */
  stalenessMs: number;
  /** Monotonic milliseconds; the injected wall clock of tests may stand still. */
  clock?: () => number;
}

interface Held<T> {
  value: T;
  version: number;
  localWrites: number;
  checkedAt: number;
}

export class StoreCache<T> {
  #changes: StoreChanges;
  #area: StoreArea;
  #load: () => Promise<T>;
  #stalenessMs: number;
  #clock: () => number;
  #held: Held<T> | null = null;
  #pending: { localWrites: number; promise: Promise<T> } | null = null;

  constructor(changes: StoreChanges, area: StoreArea, load: () => Promise<T>, options: StoreCacheOptions) {
    this.#changes = changes;
    this.#area = area;
    this.#load = load;
    this.#stalenessMs = options.stalenessMs;
    this.#clock = options.clock ?? (() => performance.now());
  }

  get(): Promise<T> {
    const localWrites = this.#changes.localWrites(this.#area);
    const held = this.#held;
    if (
      held && held.localWrites === localWrites && this.#clock() - held.checkedAt < this.#stalenessMs
    ) {
      return Promise.resolve(held.value);
    }
    // A check started before this process's latest write may miss it: start another one.
    if (this.#pending && this.#pending.localWrites === localWrites) return this.#pending.promise;
    const promise = this.#refresh(localWrites);
    const pending = { localWrites, promise };
    this.#pending = pending;
    const clear = () => {
      if (this.#pending === pending) this.#pending = null;
    };
    promise.then(clear, clear);
    return promise;
  }

  async #refresh(localWrites: number): Promise<T> {
    const checkedAt = this.#clock();
    const version = await this.#changes.version(this.#area);
    const held = this.#held;
    if (held && held.localWrites === localWrites && held.version === version) {
      held.checkedAt = checkedAt;
      return held.value;
    }
    const value = await this.#load();
    this.#held = { value, version, localWrites, checkedAt };
    return value;
  }
}
