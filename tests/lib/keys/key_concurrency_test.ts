// The per-key concurrency queue on its own: first come first served under a burst, leavers dropped, a
// bounded wait ending in a 429.
import assert from "node:assert/strict";
import type { ApiError } from "../../../lib/errors.ts";
import { KeyConcurrency } from "../../../lib/keys/key_concurrency.ts";

Deno.test("a burst of 20 with a cap of 2 is served in arrival order; waiters that leave are dropped", async () => {
  const queue = new KeyConcurrency({ timeoutMs: 60_000 });
  const granted: number[] = [];
  const releases = new Map<number, () => void>();
  const leavers = new Map([[5, new AbortController()], [9, new AbortController()]]);
  const outcomes = Array.from({ length: 20 }, (_, i) => {
    const signal = leavers.get(i)?.signal ?? new AbortController().signal;
    return queue.acquire("k", 2, signal).then((release) => {
      granted.push(i);
      releases.set(i, release);
      return "granted";
    }, (error: ApiError) => `refused ${error.status}`);
  });
  await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(granted, [0, 1]);
  assert.equal(queue.active("k"), 2);
  assert.equal(queue.waiting("k"), 18);
  for (const controller of leavers.values()) controller.abort();
  assert.equal(queue.waiting("k"), 16);
  // Free slots one at a time, oldest first; each goes to the next waiter in line.
  for (let step = 0; step < 20 && releases.size > 0; step++) {
    const oldest = Math.min(...releases.keys());
    releases.get(oldest)!();
    releases.delete(oldest);
    await new Promise((r) => setTimeout(r, 0));
  }
  const expected = Array.from({ length: 20 }, (_, i) => i).filter((i) => !leavers.has(i));
  assert.deepEqual(granted, expected);
  const results = await Promise.all(outcomes);
  assert.equal(results[5], "refused 499");
  assert.equal(results[9], "refused 499");
  assert.equal(results.filter((r) => r === "granted").length, 18);
  assert.equal(queue.active("k"), 0);
  assert.equal(queue.waiting("k"), 0);
});

Deno.test("a waiter that gets no slot within the timeout gets a 429 and leaves the queue", async () => {
  const queue = new KeyConcurrency({ timeoutMs: 10 });
  const signal = new AbortController().signal;
  const release = await queue.acquire("k", 1, signal);
  await assert.rejects(queue.acquire("k", 1, signal), (error: ApiError) => {
    assert.equal(error.status, 429);
    assert.equal(error.type, "rate_limit_error");
    assert.match(error.message, /max_concurrency/);
    return true;
  });
  assert.equal(queue.waiting("k"), 0);
  release();
  release(); // a second call gives back nothing more
  assert.equal(queue.active("k"), 0);
  // The slot is free again for the next request, and other keys never waited.
  (await queue.acquire("k", 1, signal))();
  (await queue.acquire("other", 1, signal))();
});

Deno.test("a newcomer never overtakes the queue, even when a slot is free at the moment it arrives", async () => {
  const queue = new KeyConcurrency({ timeoutMs: 60_000 });
  const signal = new AbortController().signal;
  const order: string[] = [];
  const first = await queue.acquire("k", 1, signal);
  const waiting = queue.acquire("k", 1, signal).then((r) => {
    order.push("waiter");
    return r;
  });
  first();
  const newcomer = queue.acquire("k", 1, signal).then((r) => {
    order.push("newcomer");
    return r;
  });
  (await waiting)();
  (await newcomer)();
  assert.deepEqual(order, ["waiter", "newcomer"]);
});
