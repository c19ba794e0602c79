/**
 * `KeyConcurrency`: how many requests of each key run at once on this instance, with a fair queue for the
 * ones over the key's cap.
 *
 * A request at the cap waits in its key's FIFO queue; a freed slot goes straight to the first waiter (a
 * newcomer never overtakes the queue). A waiter whose client leaves is dropped at once; one that waits
 * longer than the timeout gets a 429. The queue sits before the account pool, so a waiting request holds
 * no upstream slot. The cap is per instance: N instances may run N times the cap in all.
 */
import { ApiError } from "../errors.ts";

interface Waiter {
  grant: () => void;
}

interface KeyState {
  active: number;
  cap: number;
  waiters: Waiter[];
}

export class KeyConcurrency {
  #keys = new Map<string, KeyState>();
  #timeoutMs: number;
  #onTimeout: (() => void) | undefined;

  /** `onTimeout` is told of every waiter refused for waiting too long (the rejection metric). */
  constructor(options: { timeoutMs: number; onTimeout?: () => void }) {
    this.#timeoutMs = options.timeoutMs;
    this.#onTimeout = options.onTimeout;
  }

  /** Requests of the key running now on this instance. */
  active(keyId: string): number {
    return this.#keys.get(keyId)?.active ?? 0;
  }

  /** Requests of the key waiting for a slot on this instance. */
  waiting(keyId: string): number {
    return this.#keys.get(keyId)?.waiters.length ?? 0;
  }

  /**
   * Takes one of the key's `cap` slots, waiting in line if needed; the returned function gives it back
   * (once; later calls do nothing).
   */
  async acquire(keyId: string, cap: number, signal: AbortSignal): Promise<() => void> {
    let state = this.#keys.get(keyId);
    if (!state) {
      state = { active: 0, cap, waiters: [] };
      this.#keys.set(keyId, state);
    }
    state.cap = cap;
    const held = state;
    if (held.active < cap && held.waiters.length === 0) {
      held.active++;
      return this.#releaser(keyId, held);
    }
    if (signal.aborted) throw new ApiError("api_error", "client closed the request", { status: 499 });
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const leave = () => {
        const at = held.waiters.indexOf(waiter);
        if (at >= 0) held.waiters.splice(at, 1);
        signal.removeEventListener("abort", onAbort);
        clearTimeout(timer);
        this.#forgetIfIdle(keyId, held);
      };
      const onAbort = () => {
        leave();
        reject(new ApiError("api_error", "client closed the request", { status: 499 }));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      // Declared after the closures above that clear it; they only run once it is set.
      const timer = setTimeout(() => {
        leave();
        this.#onTimeout?.();
        reject(
          new ApiError(
            "rate_limit_error",
            `this key already runs ${held.cap} request(s) at once (max_concurrency) and no slot freed within ${
              Math.round(this.#timeoutMs / 1000)
            } s`,
            { retryAfterSeconds: 1 },
          ),
        );
      }, this.#timeoutMs);
      held.waiters.push(waiter);
    });
    return this.#releaser(keyId, held);
  }

  #releaser(keyId: string, state: KeyState): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.active--;
      // Hand freed slots to the queue in order; a lowered cap lets the queue drain down to it first.
      while (state.active < state.cap && state.waiters.length > 0) {
        state.active++;
        state.waiters.shift()!.grant();
      }
      this.#forgetIfIdle(keyId, state);
    };
  }

  #forgetIfIdle(keyId: string, state: KeyState): void {
    if (state.active === 0 && state.waiters.length === 0 && this.#keys.get(keyId) === state) {
      this.#keys.delete(keyId);
    }
  }
}
