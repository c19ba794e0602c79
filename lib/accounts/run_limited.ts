/**
 * Runs an async function over a list with at most `limit` calls in flight, keeping results in input order.
 * Used where many accounts are refreshed at once (the scheduled job, refresh-all) without flooding the
 * identity endpoints.
 */
export async function runLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}
