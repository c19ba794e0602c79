import assert from "node:assert/strict";
import { claudeToOpenAIRequest } from "../../../lib/custom/claude_to_openai_request.ts";
import { claudeRequest } from "../../_helpers/fake_openai_upstream.ts";

const PNG = "iVBORw0KGgo=";

Deno.test("claudeToOpenAIRequest puts tool messages right after the assistant turn, images after them", () => {
  const request = claudeRequest({
    messages: [
      { role: "user", content: "Take a screenshot and read the file" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "sig" },
          { type: "text", text: "Sure." },
          { type: "tool_use", id: "call_1", name: "Screenshot", input: {} },
          { type: "tool_use", id: "call_2", name: "Read", input: { path: "a.txt" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "AAAA" } },
          {
            type: "tool_result",
            tool_use_id: "call_1",
            content: [{ type: "text", text: "captured" }, {
              type: "image",
              source: { type: "base64", media_type: "image/png", data: PNG },
            }],
          },
          { type: "tool_result", tool_use_id: "call_2", content: "hello", is_error: true },
          { type: "text", text: "What do you see?" },
        ],
      },
    ],
  });
  const body = claudeToOpenAIRequest(request, { model: "gpt-4o" });
  assert.deepEqual(body.messages, [
    { role: "user", content: "Take a screenshot and read the file" },
    {
      role: "assistant",
      content: "Sure.",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "Screenshot", arguments: "{}" } },
        { id: "call_2", type: "function", function: { name: "Read", arguments: '{"path":"a.txt"}' } },
      ],
    },
    {
      role: "tool",
      tool_call_id: "call_1",
      content: "captured\n(1 attachment(s) follow in the next user message)",
    },
    { role: "tool", tool_call_id: "call_2", content: "Error: hello" },
    {
      role: "user",
      content: [
        { type: "text", text: "Attachments from tool result call_1:" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
        { type: "image_url", image_url: { url: "data:image/jpeg;base64,AAAA" } },
        { type: "text", text: "What do you see?" },
      ],
    },
  ]);
});

Deno.test("claudeToOpenAIRequest maps system, tools, tool_choice and sampling fields", () => {
  const request = claudeRequest({
    system: "Line one\nx-anthropic-billing-header: cc_version=2.1; cc_entrypoint=cli;\n\n\n\nLine two",
    messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: [] }, {
      role: "user",
      content: "?",
    }],
    tools: [
      {
        name: "Bash",
        description: "Run a command",
        input_schema: { type: "object", properties: { command: { type: "string" } } },
      },
      { name: "web_search", type: "web_search_20250305" },
    ],
    tool_choice: { type: "any", disable_parallel_tool_use: true },
    stop_sequences: ["a", "b", "c", "d", "e"],
    temperature: 0.5,
    top_p: 0.9,
    top_k: 40,
  });
  const body = claudeToOpenAIRequest(request, { model: "gpt-4.1" });
  assert.deepEqual(body, {
    model: "gpt-4.1",
    messages: [
      { role: "system", content: "Line one\n\nLine two" },
      { role: "user", content: "Hi" },
      { role: "user", content: "?" },
    ],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 1024,
    temperature: 0.5,
    top_p: 0.9,
    stop: ["a", "b", "c", "d"],
    tools: [{
      type: "function",
      function: {
        name: "Bash",
        description: "Run a command",
        parameters: { type: "object", properties: { command: { type: "string" } } },
      },
    }],
    tool_choice: "required",
    parallel_tool_calls: false,
  });
});

Deno.test("claudeToOpenAIRequest maps the named tool choice and drops tool fields without tools", () => {
  const named = claudeToOpenAIRequest(
    claudeRequest({
      messages: [{ role: "user", content: "x" }],
      tools: [{ name: "f", input_schema: { type: "object" } }],
      tool_choice: { type: "tool", name: "f" },
    }),
    { model: "m" },
  );
  assert.deepEqual(named.tool_choice, { type: "function", function: { name: "f" } });
  assert.equal(named.parallel_tool_calls, undefined);
  const none = claudeToOpenAIRequest(
    claudeRequest({
      messages: [{ role: "user", content: "x" }],
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
    }),
    { model: "m" },
  );
  assert.equal(none.tool_choice, undefined);
  assert.equal(none.parallel_tool_calls, undefined);
});

Deno.test("claudeToOpenAIRequest uses max_completion_tokens and reasoning_effort for reasoning models", () => {
  const request = claudeRequest({
    max_tokens: 32000,
    messages: [{ role: "user", content: "x" }],
    thinking: { type: "enabled", budget_tokens: 20000 },
  });
  const o3 = claudeToOpenAIRequest(request, { model: "o3-mini" });
  assert.equal(o3.max_completion_tokens, 32000);
  assert.equal(o3.max_tokens, undefined);
  assert.equal(o3.reasoning_effort, "high");
  const gpt5 = claudeToOpenAIRequest(request, { model: "openai/gpt-5.1" });
  assert.equal(gpt5.max_completion_tokens, 32000);
  const plain = claudeToOpenAIRequest(request, { model: "gpt-4o" });
  assert.equal(plain.max_tokens, 32000);
  assert.equal(plain.reasoning_effort, undefined);
  const forced = claudeToOpenAIRequest(request, {
    model: "qwen3",
    supportsReasoningEffort: true,
    useMaxCompletionTokens: false,
  });
  assert.equal(forced.reasoning_effort, "high");
  assert.equal(forced.max_tokens, 32000);
  const adaptive = claudeToOpenAIRequest(
    claudeRequest({
      messages: [{ role: "user", content: "x" }],
      thinking: { type: "adaptive" },
      output_config: { effort: "low" },
    }),
    { model: "o4-mini" },
  );
  assert.equal(adaptive.reasoning_effort, "low");
  const disabled = claudeToOpenAIRequest(
    claudeRequest({ messages: [{ role: "user", content: "x" }], thinking: { type: "disabled" } }),
    { model: "o4-mini" },
  );
  assert.equal(disabled.reasoning_effort, undefined);
});

Deno.test("claudeToOpenAIRequest sends URL images and keeps text-only user turns as strings", () => {
  const body = claudeToOpenAIRequest(
    claudeRequest({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Look:" },
            { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
          ],
        },
        { role: "assistant", content: "A cat." },
        {
          role: "user",
          content: [{ type: "text", text: "<system-reminder>r</system-reminder>" }, {
            type: "text",
            text: "Thanks",
          }],
        },
      ],
    }),
    { model: "gpt-4o" },
  );
  assert.deepEqual(body.messages, [
    {
      role: "user",
      content: [{ type: "text", text: "Look:" }, {
        type: "image_url",
        image_url: { url: "https://example.com/cat.png" },
      }],
    },
    { role: "assistant", content: "A cat." },
    { role: "user", content: "<system-reminder>r</system-reminder>\nThanks" },
  ]);
});
