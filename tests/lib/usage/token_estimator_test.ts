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
