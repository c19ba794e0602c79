import assert from "node:assert/strict";
import { ApiError } from "../../../lib/errors.ts";
import { openAIRequestToClaude } from "../../../lib/openai/openai_request_to_claude.ts";

function rejects(body: unknown, pattern: RegExp): void {
  assert.throws(() => openAIRequestToClaude(body), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.type, "invalid_request_error");
    assert.equal(error.status, 400);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("openAIRequestToClaude converts a tool-calling conversation", () => {
  const { request, stream, includeUsage } = openAIRequestToClaude({
    model: "claude-sonnet-4-6",
    messages: [
      { role: "system", content: "You are terse." },
      { role: "developer", content: [{ type: "text", text: "Use tools." }] },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          { type: "image_url", image_url: { url: "https://example.com/a.jpg", detail: "high" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "Read", arguments: '{"path":"a"}' } },
          { id: "call_2", type: "function", function: { name: "Read", arguments: "" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "A" },
      { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "B" }] },
      { role: "user", content: "Summarize." },
    ],
    tools: [{
      type: "function",
      function: { name: "Read", description: "Read a file", parameters: { type: "object", properties: {} } },
    }],
    tool_choice: "required",
    parallel_tool_calls: false,
    max_completion_tokens: 2000,
    max_tokens: 10,
    temperature: 0.3,
    top_p: 0.8,
    stop: "END",
    stream: true,
    stream_options: { include_usage: true },
    user: "user-42",
    frequency_penalty: 0.5,
  });
  assert.equal(stream, true);
  assert.equal(includeUsage, true);
  assert.deepEqual(request, {
    model: "claude-sonnet-4-6",
    max_tokens: 2000,
    system: [{ type: "text", text: "You are terse." }, { type: "text", text: "Use tools." }],
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "url", url: "https://example.com/a.jpg" } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "call_1", name: "Read", input: { path: "a" } },
          { type: "tool_use", id: "call_2", name: "Read", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: [{ type: "text", text: "A" }] },
          { type: "tool_result", tool_use_id: "call_2", content: [{ type: "text", text: "B" }] },
          { type: "text", text: "Summarize." },
        ],
      },
    ],
    tools: [{ name: "Read", description: "Read a file", input_schema: { type: "object", properties: {} } }],
    tool_choice: { type: "any", disable_parallel_tool_use: true },
    temperature: 0.3,
    top_p: 0.8,
    stop_sequences: ["END"],
    metadata: { user_id: "user-42" },
    stream: true,
    extra: {},
  });
});

Deno.test("openAIRequestToClaude maps tool_choice forms and reasoning_effort", () => {
  const base = {
    model: "m",
    messages: [{ role: "user", content: "x" }],
    tools: [{ type: "function", function: { name: "f" } }],
  };
  assert.deepEqual(openAIRequestToClaude({ ...base, tool_choice: "none" }).request.tool_choice, {
    type: "none",
  });
  assert.deepEqual(openAIRequestToClaude({ ...base, tool_choice: "auto" }).request.tool_choice, {
    type: "auto",
  });
  assert.deepEqual(
    openAIRequestToClaude({ ...base, tool_choice: { type: "function", function: { name: "f" } } }).request
      .tool_choice,
    { type: "tool", name: "f" },
  );
  assert.deepEqual(
    openAIRequestToClaude({ ...base, parallel_tool_calls: false }).request.tool_choice,
    { type: "auto", disable_parallel_tool_use: true },
  );
  assert.deepEqual(openAIRequestToClaude({ ...base }).request.tools?.[0]?.input_schema, {
    type: "object",
    properties: {},
  });
  const plain = { model: "m", messages: [{ role: "user", content: "x" }] };
  assert.deepEqual(
    openAIRequestToClaude({ ...plain, reasoning_effort: "high", max_tokens: 64000 }).request.thinking,
    { type: "enabled", budget_tokens: 16384 },
  );
  // The budget must stay below max_tokens.
  assert.deepEqual(
    openAIRequestToClaude({ ...plain, reasoning_effort: "high", max_tokens: 5000 }).request.thinking,
    { type: "enabled", budget_tokens: 4999 },
  );
  assert.equal(
    openAIRequestToClaude({ ...plain, reasoning_effort: "low", max_tokens: 500 }).request.thinking,
    undefined,
  );
  assert.deepEqual(openAIRequestToClaude({ ...plain, reasoning_effort: "none" }).request.thinking, {
    type: "disabled",
  });
  const defaults = openAIRequestToClaude(plain);
  assert.equal(defaults.request.max_tokens, 4096);
  assert.equal(defaults.stream, false);
  assert.equal(defaults.includeUsage, false);
  assert.deepEqual(openAIRequestToClaude({ ...plain, stop: ["a", "b"] }).request.stop_sequences, ["a", "b"]);
});

Deno.test("openAIRequestToClaude turns a PDF file part into a document and merges consecutive turns", () => {
  const { request } = openAIRequestToClaude({
    model: "m",
    messages: [
      {
        role: "user",
        content: [{ type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=" } }],
      },
      { role: "user", content: "Summarize it." },
      { role: "assistant", content: "" },
      { role: "assistant", content: [{ type: "text", text: "It says hi." }] },
    ],
  });
  assert.deepEqual(request.messages, [
    {
      role: "user",
      content: [
        { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
        { type: "text", text: "Summarize it." },
      ],
    },
    { role: "assistant", content: [{ type: "text", text: "It says hi." }] },
  ]);
});

Deno.test("openAIRequestToClaude rejects invalid bodies with the field named", () => {
  rejects(null, /^body: /);
  rejects({ messages: [{ role: "user", content: "x" }] }, /^model: /);
  rejects({ model: "m", messages: [] }, /^messages: /);
  rejects({ model: "m", messages: [{ role: "robot", content: "x" }] }, /^messages\[0\]\.role: /);
  rejects({ model: "m", messages: [{ role: "user", content: "x" }], temperature: 3 }, /^temperature: /);
  rejects({ model: "m", messages: [{ role: "user", content: "x" }], n: 2 }, /^n: /);
  rejects(
    { model: "m", messages: [{ role: "user", content: "x" }], stop: ["1", "2", "3", "4", "5"] },
    /^stop: /,
  );
  rejects(
    {
      model: "m",
      messages: [{
        role: "assistant",
        tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{bad" } }],
      }],
    },
    /^messages\[0\]\.tool_calls\[0\]\.function\.arguments: not valid JSON/,
  );
  rejects(
    {
      model: "m",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x/y.png" } }] }],
    },
    /^messages\[0\]\.content\[0\]\.image_url: /,
  );
  rejects({ model: "m", messages: [{ role: "system", content: "only system" }] }, /^messages: at least one/);
  rejects({ model: "m", messages: [{ role: "tool", content: "x" }] }, /^messages\[0\]\.tool_call_id: /);
});
