/**
 * The small pieces of the upstream toolkit: `Retry-After` forms, backoff with injected randomness, an
 * abortable sleep that leaves no listener behind, a size-bounded error body, and the new time-limit
 * variables in the configuration.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../../lib/config.ts";
import { abortableSleep } from "../../../lib/upstream/abortable_sleep.ts";
import { backoff } from "../../../lib/upstream/backoff.ts";
import { readErrorBody } from "../../../lib/upstream/read_error_body.ts";
import { retryAfterMs } from "../../../lib/upstream/retry_after.ts";

Deno.test("retryAfterMs reads milliseconds, seconds and HTTP dates", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "1500" }), now), 1500);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "2.5" }), now), 2500);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }), now), 30_000);
  assert.equal(
    retryAfterMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }), undefined),
    undefined,
  );
  assert.equal(retryAfterMs(new Headers({ "retry-after": "soon" }), now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
});

Deno.test("backoff doubles from the base, caps, and adds the injected jitter", () => {
  assert.deepEqual([1, 2, 3].map((n) => backoff(n, { random: () => 0 })), [250, 500, 1000]);
  assert.equal(backoff(20, { random: () => 0, maxMs: 4000 }), 4000);
  assert.equal(backoff(1, { random: () => 0.5, jitterMs: 100 }), 300);
});

Deno.test("abortableSleep resolves, rejects on abort, and removes its abort listener", async () => {
  const controller = new AbortController();
  let added = 0;
  let removed = 0;
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
  signal.removeEventListener =
    ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
  await abortableSleep(1, signal);
  assert.equal(added, 1);
  assert.equal(removed, 1, "a finished sleep leaves no listener behind");
  const pending = abortableSleep(10_000, signal);
  controller.abort(new Error("left"));
  await assert.rejects(pending, /left/);
});

Deno.test("readErrorBody stops at the bound and cancels the rest", async () => {
  let cancelled = false;
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent++;
      controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
    },
    cancel() {
      cancelled = true;
    },
  });
  const text = await readErrorBody(new Response(body), 4096);
  assert.equal(text.length, 4096);
  assert.ok(sent < 10);
  assert.ok(cancelled);
});

Deno.test("config: the upstream time limits are read and bounded", () => {
  const env: Record<string, string> = {
    UPSTREAM_TIMEOUT_SECONDS: "30",
    UPSTREAM_IDLE_TIMEOUT_SECONDS: "45",
    UPSTREAM_TOTAL_TIMEOUT_SECONDS: "900",
  };
  const config = parseConfig((name) => env[name]);
  assert.equal(config.upstreamTimeoutMs, 30_000);
  assert.equal(config.upstreamIdleTimeoutMs, 45_000);
  assert.equal(config.upstreamTotalTimeoutMs, 900_000);
  const defaults = parseConfig(() => undefined);
  assert.equal(defaults.upstreamIdleTimeoutMs, 120_000);
  assert.equal(defaults.upstreamTotalTimeoutMs, 3_600_000);
  assert.throws(
    () => parseConfig((name) => name === "UPSTREAM_IDLE_TIMEOUT_SECONDS" ? "0" : undefined),
    /UPSTREAM_IDLE_TIMEOUT_SECONDS/,
  );
});
