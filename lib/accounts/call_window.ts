/**
 * An in-memory mirror of each account's calls in the last hour, for the `rate_limit_per_hour` sliding
 * window. The calls themselves are persisted in the store (`account_calls`); the mirror is loaded from it at
 * start-up and on every scheduled refresh run, so the limit holds across restarts and, within one refresh
 * interval, across instances. Reservations count at selection time, not when the answer ends, so a burst
 * cannot overshoot the limit.
 */

const HOUR_MS = 3_600_000;

export class CallWindow {
  #calls = new Map<string, number[]>();

  /** Replaces the mirror with counts loaded from the store (`at` times are spread as one bucket). */
  load(counts: Map<string, number>, at: number): void {
    this.#calls.clear();
    for (const [id, n] of counts) this.#calls.set(id, new Array<number>(n).fill(at));
  }

  add(accountId: string, at: number): void {
    const list = this.#calls.get(accountId);
    if (list) list.push(at);
    else this.#calls.set(accountId, [at]);
  }

  /**
   * When the account is back under `limit` calls per hour, or null if it is under it now. Lets a refused
   * client be told the real wait (`retry-after`) instead of a guess: the oldest call that must leave the
   * window decides it.
   */
  freeAt(accountId: string, limit: number, now: number): number | null {
    const n = this.count(accountId, now);
    if (n < limit) return null;
    return this.#calls.get(accountId)![n - limit]! + HOUR_MS + 1;
  }

  /** Calls in the hour before `now`; drops older entries as it goes. */
  count(accountId: string, now: number): number {
    const list = this.#calls.get(accountId);
    if (!list) return 0;
    const since = now - HOUR_MS;
    let drop = 0;
    while (drop < list.length && list[drop]! < since) drop++;
    if (drop > 0) list.splice(0, drop);
    return list.length;
  }
}
