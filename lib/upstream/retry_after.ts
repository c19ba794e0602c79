/**
 * `retryAfterMs`: how long an upstream asked us to wait, from its `retry-after-ms` or `retry-after` header.
 *
 * Every upstream that throttles says so in one of these forms (milliseconds, seconds, or an HTTP date), and
 * the pool needs one number to cool an account down for. Without a clock an HTTP date cannot be turned into
 * a wait and is ignored rather than guessed.
 */

const NUMBER = /^\d+(\.\d+)?$/;

/** Milliseconds to wait, or undefined when the answer gave no usable hint. */
export function retryAfterMs(headers: Headers | undefined, now: number | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms")?.trim();
  if (ms !== undefined && NUMBER.test(ms)) return Math.ceil(Number(ms));
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (NUMBER.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) || now === undefined ? undefined : Math.max(0, date - now);
}
