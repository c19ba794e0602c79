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
