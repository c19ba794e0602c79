/**
 * `abortableSleep`: waits `ms`, or rejects with the signal's reason as soon as it aborts.
 *
 * Retry waits must end when the client leaves, and the abort listener must go away when the wait ends
 * normally, or every retry of a long-lived request would leave one behind on its signal.
 */

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
