import assert from "node:assert/strict";
import { claudePassthroughBody } from "../../../lib/custom/claude_passthrough_body.ts";
import { claudeRequest } from "../../_helpers/fake_openai_upstream.ts";

const signedThinking = { type: "thinking", thinking: "deep", signature: "EqQBCkYIBxgC" };

Deno.test("claudePassthroughBody keeps unknown fields, sets model and stream, and drops the billing line", () => {
  const body = claudePassthroughBody(
    claudeRequest({
      system: [{ type: "text", text: "x-anthropic-billing-header: cc_version=1;" }, {
        type: "text",
        text: "S",
      }],
      messages: [{ role: "user", content: "hi" }],
      output_config: { effort: "medium" },
      stream: false,
    }),
    { model: "claude-sonnet-4-5", azure: false },
  );
  assert.deepEqual(body, {
    output_config: { effort: "medium" },
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    system: [{ type: "text", text: "S" }],
    stream: true,
  });
});

Deno.test("claudePassthroughBody keeps signed thinking and turns foreign or unsigned thinking into text", () => {
  const body = claudePassthroughBody(
    claudeRequest({
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [
        { role: "user", content: "a" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "First text block" },
            { type: "thinking", thinking: "Middle thinking content" },
            { type: "text", text: "Last text block" },
          ],
        },
        { role: "user", content: "b" },
        { role: "assistant", content: [{ type: "thinking", thinking: "ours", signature: "amq2api.v1.abc" }] },
        { role: "user", content: "c" },
        {
          role: "assistant",
          content: [signedThinking, { type: "tool_use", id: "t1", name: "Bash", input: {} }],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "ok" }] },
      ],
    }),
    { model: "m", azure: true },
  );
  const messages = body.messages as Array<{ role: string; content: unknown[] }>;
  assert.deepEqual(messages[1]!.content, [
    { type: "text", text: "First text block" },
    { type: "text", text: "<previous_thinking>Middle thinking content</previous_thinking>" },
    { type: "text", text: "Last text block" },
  ]);
  assert.deepEqual(messages[3]!.content, [{
    type: "text",
    text: "<previous_thinking>ours</previous_thinking>",
  }]);
  assert.deepEqual(messages[5]!.content[0], signedThinking);
  assert.deepEqual(body.thinking, { type: "enabled", budget_tokens: 2048 });
});

Deno.test("claudePassthroughBody switches thinking off in a tool loop whose last turn lacks valid thinking", () => {
  const request = claudeRequest({
    thinking: { type: "adaptive" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    messages: [
      { role: "user", content: "a" },
      {
        role: "assistant",
        content: [{ type: "thinking", thinking: "t", signature: "amq2api.v1.x" }, {
          type: "tool_use",
          id: "t1",
          name: "Read",
          input: {},
        }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "ok" }] },
    ],
  });
  const body = claudePassthroughBody(request, { model: "m", azure: false });
  assert.equal(body.thinking, undefined);
  assert.equal(body.context_management, undefined);
  assert.deepEqual((body.messages as Array<{ content: unknown[] }>)[1]!.content, [
    { type: "tool_use", id: "t1", name: "Read", input: {} },
  ]);
  // Outside a tool loop a non-Azure upstream keeps thinking on.
  const followUp = claudeRequest({
    thinking: { type: "adaptive" },
    messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, {
      role: "user",
      content: "c",
    }],
  });
  assert.deepEqual(claudePassthroughBody(followUp, { model: "m", azure: false }).thinking, {
    type: "adaptive",
  });
  assert.equal(claudePassthroughBody(followUp, { model: "m", azure: true }).thinking, undefined);
});

Deno.test("claudePassthroughBody drops emptied turns except a final assistant turn, and cleans Azure tools", () => {
  const body = claudePassthroughBody(
    claudeRequest({
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: [{ type: "thinking", thinking: "only" }] },
        { role: "user", content: "b" },
        { role: "assistant", content: [{ type: "redacted_thinking", data: "" }] },
      ],
      tools: [
        { name: "bash", type: "bash_20250124" },
        { name: "Read", description: "read", input_schema: { type: "object" }, defer_loading: true },
      ],
      betas: ["x"],
    }),
    { model: "m", azure: true },
  );
  assert.deepEqual(body.messages, [
    { role: "user", content: [{ type: "text", text: "a" }] },
    { role: "user", content: [{ type: "text", text: "b" }] },
    { role: "assistant", content: [] },
  ]);
  assert.deepEqual(body.tools, [
    { type: "bash_20250124", name: "bash" },
    { name: "Read", input_schema: { type: "object" }, description: "read" },
  ]);
  assert.equal(body.betas, undefined);
});
