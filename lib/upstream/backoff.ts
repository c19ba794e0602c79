/**
 * `backoff`: the wait before retry number `retry` (1-based): exponential from `baseMs`, capped at `maxMs`,
 * plus up to `jitterMs` of randomness so concurrent requests that failed together do not retry together.
 * The randomness is injected so tests can pin it.
 */

export interface BackoffOptions {
  /** Wait before the first retry. @default 250 */
  baseMs?: number;
  /** Longest wait, jitter excluded. @default 10_000 */
  maxMs?: number;
  /** Random extra wait in [0, jitterMs). @default 100 */
  jitterMs?: number;
  /** A number in [0, 1). @default Math.random */
  random?: () => number;
}

export function backoff(retry: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const jitter = options.jitterMs ?? 100;
  const random = options.random ?? Math.random;
  const exponential = Math.min(max, base * 2 ** Math.max(0, retry - 1));
  return exponential + Math.floor(random() * jitter);
}
