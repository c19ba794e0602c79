import assert from "node:assert/strict";
import { modelAllowed } from "../../../lib/keys/model_allowed.ts";

Deno.test("allowed_models: empty allows all; exact names; * anywhere; case-insensitive; no partial matches", () => {
  assert.ok(modelAllowed([], "anything"));
  assert.ok(modelAllowed(["gpt-x"], "gpt-x"));
  assert.ok(!modelAllowed(["gpt-x"], "gpt-x2"));
  assert.ok(!modelAllowed(["gpt-x"], "my-gpt-x"));
  assert.ok(modelAllowed(["claude-sonnet-*"], "claude-sonnet-4-6"));
  assert.ok(modelAllowed(["claude-sonnet-*"], "Claude-Sonnet-4-6"));
  assert.ok(!modelAllowed(["claude-sonnet-*"], "claude-opus-4-1"));
  assert.ok(modelAllowed(["*-haiku-*"], "claude-haiku-4-5"));
  assert.ok(modelAllowed(["claude-*-4-*"], "claude-opus-4-1"));
  assert.ok(!modelAllowed(["claude-*-4-*"], "claude-opus-3-1"));
  assert.ok(modelAllowed(["*"], "x"));
  assert.ok(!modelAllowed(["a*a"], "a"), "the two ends may not overlap");
  assert.ok(modelAllowed(["a*a"], "aa"));
  assert.ok(!modelAllowed(["gemini-*-pro", "gpt-x"], "gemini-2.5-flash"));
  assert.ok(modelAllowed(["gemini-*-pro", "gpt-x"], "gemini-2.5-pro"));
});
