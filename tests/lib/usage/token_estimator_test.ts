import assert from "node:assert/strict";
import { estimator } from "../../_helpers/test_app.ts";
import { normalizeClaudeRequest } from "../../../lib/claude/normalize_request.ts";

Deno.test("TokenEstimator counts text with the real tokenizer and never returns a silent 0", () => {
  const e = estimator();
  assert.equal(e.count(""), 0);
  assert.equal(e.count("hello world"), 2);
  const request = normalizeClaudeRequest({
    model: "m",
    system: "You are helpful.",
    messages: [
      { role: "user", content: "What is in this picture?" },
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Read", input: { path: "/a" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "file text" }] },
    ],
    tools: [{ name: "Read", description: "Reads a file", input_schema: { type: "object" } }],
  });
  const n = e.countRequest(request);
  assert.ok(n > 20 && n < 120, String(n));
  // Memoized long texts give the same answer as a fresh count.
  const long = "The quick brown fox jumps over the lazy dog. ".repeat(50);
  assert.equal(e.count(long), e.count(long));
});

Deno.test("TokenEstimator's memo is bounded by total text length as well as by entries", async () => {
  const { TokenEstimator } = await import("../../../lib/usage/token_estimator.ts");
  const e = new TokenEstimator({ memoEntries: 100, memoChars: 10_000 });
  for (let i = 0; i < 50; i++) e.count(`entry ${i} `.repeat(100)); // ~900-1000 chars each
  assert.ok(e.memoSize.chars <= 10_000, JSON.stringify(e.memoSize));
  assert.ok(e.memoSize.entries <= 11);
  e.count("x y ".repeat(1000)); // longer than an eighth of the budget: counted, not remembered
  assert.ok(e.memoSize.chars <= 10_000);
  const small = new TokenEstimator({ memoEntries: 3 });
  for (let i = 0; i < 10; i++) small.count(`another text number ${i} that is long enough`);
  assert.equal(small.memoSize.entries, 3);
});

function randomLetters(length: number, seed = 3): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(alphabet[(x >>> 16) % alphabet.length]!);
  }
  return out.join("");
}

Deno.test("countRequestAsync counts large texts off the event loop and agrees with countRequest", async () => {
  const { TokenEstimator } = await import("../../../lib/usage/token_estimator.ts");
  const e = new TokenEstimator();
  try {
    const request = normalizeClaudeRequest({
      model: "m",
      system: "You are helpful.",
      messages: [
        { role: "user", content: randomLetters(1_500_000) },
        { role: "assistant", content: "ok" },
        { role: "user", content: "a".repeat(2_000_000) + " and more" },
      ],
    });
    // Counted synchronously, no timer could run before the promise settled; in the worker, it does.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const counted = await e.countRequestAsync(request).finally(() => clearInterval(timer));
    assert.ok(ticks > 0, "no timer fired while counting: the event loop was blocked");
    // The gateway's synchronous count of the same request (a copy sharing its parts) finds the same total,
    // and a fresh estimator counting everything on the event loop gets it too.
    assert.equal(e.countRequest({ ...request }), counted);
    const fresh = new TokenEstimator();
    assert.equal(fresh.countRequest(request), counted);
    fresh.close();
  } finally {
    e.close();
  }
});

Deno.test("the token count worker's queue is bounded: a full queue is a 529, not a different count", async () => {
  const { TokenCountWorker } = await import("../../../lib/usage/token_count_worker.ts");
  const { ApiError } = await import("../../../lib/errors.ts");
  const { cl100kRankTable } = await import("../../../lib/usage/cl100k_rank_table.ts");
  const worker = new TokenCountWorker(cl100kRankTable(), { maxJobs: 1 });
  try {
    const first = worker.count([randomLetters(200_000)]);
    await assert.rejects(
      worker.count(["second"]),
      (error) => error instanceof ApiError && error.status === 529 && error.type === "overloaded_error",
    );
    const [n] = await first;
    assert.ok(n! > 10_000);
    assert.deepEqual(await worker.count(["hello world"]), [2]);
  } finally {
    worker.close();
  }
});

Deno.test("the token count worker stops after idleMs without a job and starts again on the next one", async () => {
  const { TokenCountWorker } = await import("../../../lib/usage/token_count_worker.ts");
  const { cl100kRankTable } = await import("../../../lib/usage/cl100k_rank_table.ts");
  const worker = new TokenCountWorker(cl100kRankTable(), { idleMs: 20 });
  try {
    assert.equal(worker.running, false);
    assert.deepEqual(await worker.count(["hello world"]), [2]);
    // Bounded wait for the idle stop (at most 10 s of 10 ms polls).
    for (let i = 0; i < 1000 && worker.running; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(worker.running, false);
    const text = randomLetters(50_000);
    assert.deepEqual(await worker.count([text, "hello world"]), [estimator().count(text), 2]);
    assert.equal(worker.running, true);
  } finally {
    worker.close();
  }
  assert.equal(worker.running, false);
});
