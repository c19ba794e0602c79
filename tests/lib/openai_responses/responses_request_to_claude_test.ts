import assert from "node:assert/strict";
import { ApiError } from "../../../lib/errors.ts";
import {
  RESPONSES_DEFAULT_MAX_TOKENS,
  responsesRequestToClaude,
} from "../../../lib/openai_responses/responses_request_to_claude.ts";

function rejects(body: unknown, pattern: RegExp): void {
  assert.throws(() => responsesRequestToClaude(body), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.type, "invalid_request_error");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("a string input with instructions becomes one user turn and a system prompt", () => {
  const out = responsesRequestToClaude({
    model: "claude-sonnet-4-6",
    instructions: "Be brief.",
    input: "Hi",
  });
  assert.deepEqual(out.request.system, [{ type: "text", text: "Be brief." }]);
  assert.deepEqual(out.request.messages, [{ role: "user", content: [{ type: "text", text: "Hi" }] }]);
  assert.equal(out.request.max_tokens, RESPONSES_DEFAULT_MAX_TOKENS);
  assert.equal(out.stream, false);
  assert.equal(out.request.thinking, undefined);
  assert.equal(out.echo.instructions, "Be brief.");
  assert.deepEqual(out.echo.text, { format: { type: "text" } });
});

Deno.test("an item list: developer text to system, images, a function call round trip, merged turns", () => {
  const out = responsesRequestToClaude({
    model: "m",
    stream: true,
    max_output_tokens: 2000,
    temperature: 0.5,
    top_p: 0.9,
    input: [
      { type: "message", role: "developer", content: [{ type: "input_text", text: "Rules." }] },
      {
        role: "user",
        content: [
          { type: "input_text", text: "Look" },
          { type: "input_image", image_url: "data:image/png;base64,AAAA" },
          { type: "input_image", image_url: "https://example.com/a.png" },
        ],
      },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Checking." }] },
      { type: "function_call", call_id: "call_1", name: "Bash", arguments: '{"command":"ls"}' },
      { type: "function_call_output", call_id: "call_1", output: "a.txt" },
      { role: "user", content: "Thanks" },
    ],
  });
  assert.equal(out.stream, true);
  assert.equal(out.request.max_tokens, 2000);
  assert.equal(out.request.temperature, 0.5);
  assert.equal(out.request.top_p, 0.9);
  assert.deepEqual(out.request.system, [{ type: "text", text: "Rules." }]);
  assert.deepEqual(out.request.messages, [
    {
      role: "user",
      content: [
        { type: "text", text: "Look" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
        { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "call_1", name: "Bash", input: { command: "ls" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_1", content: [{ type: "text", text: "a.txt" }] },
        { type: "text", text: "Thanks" },
      ],
    },
  ]);
});

Deno.test("reasoning items are replayed as thinking only with this server's signature", () => {
  const out = responsesRequestToClaude({
    model: "m",
    input: [
      { role: "user", content: "Go" },
      { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "plan" }] },
      {
        type: "reasoning",
        id: "rs_2",
        summary: [{ type: "summary_text", text: "Need ls." }],
        encrypted_content: "amq2api.v1.sig",
      },
      { type: "function_call", call_id: "c", name: "Bash", arguments: "" },
      { type: "function_call_output", call_id: "c", output: [{ type: "input_text", text: "ok" }] },
    ],
  });
  assert.deepEqual(out.request.messages[1], {
    role: "assistant",
    content: [
      { type: "thinking", thinking: "Need ls.", signature: "amq2api.v1.sig" },
      { type: "tool_use", id: "c", name: "Bash", input: {} },
    ],
  });
  assert.deepEqual(out.request.messages[2]!.content, [
    { type: "tool_result", tool_use_id: "c", content: [{ type: "text", text: "ok" }] },
  ]);
});

Deno.test("function tools are kept, hosted tools left out; tool_choice and parallel_tool_calls map", () => {
  const tools = [
    { type: "function", name: "Bash", description: "Run", parameters: { type: "object" }, strict: true },
    { type: "web_search" },
    { type: "namespace", name: "agents", tools: [] },
  ];
  const base = { model: "m", input: "hi", tools };
  const auto = responsesRequestToClaude(base);
  assert.deepEqual(auto.request.tools, [{
    name: "Bash",
    description: "Run",
    input_schema: { type: "object" },
  }]);
  assert.equal(auto.request.tool_choice, undefined);
  assert.equal(auto.echo.tools.length, 1);
  const cases: Array<[unknown, boolean | undefined, unknown]> = [
    ["none", undefined, { type: "none" }],
    ["required", undefined, { type: "any" }],
    ["auto", false, { type: "auto", disable_parallel_tool_use: true }],
    [{ type: "function", name: "Bash" }, false, {
      type: "tool",
      name: "Bash",
      disable_parallel_tool_use: true,
    }],
  ];
  for (const [choice, parallel, expected] of cases) {
    const out = responsesRequestToClaude({ ...base, tool_choice: choice, parallel_tool_calls: parallel });
    assert.deepEqual(out.request.tool_choice, expected);
  }
  rejects({ model: "m", input: "hi", tool_choice: { type: "function", name: "Nope" } }, /^tool_choice: /);
});

Deno.test("reasoning.effort becomes a thinking budget that fits inside max_output_tokens", () => {
  const think = (effort: string, max?: number) =>
    responsesRequestToClaude({
      model: "m",
      input: "hi",
      reasoning: { effort },
      ...(max ? { max_output_tokens: max } : {}),
    }).request.thinking;
  assert.deepEqual(think("minimal"), { type: "enabled", budget_tokens: 1024 });
  assert.deepEqual(think("low"), { type: "enabled", budget_tokens: 4096 });
  assert.deepEqual(think("medium"), { type: "enabled", budget_tokens: 8192 });
  assert.deepEqual(think("high"), { type: "enabled", budget_tokens: 16384 });
  assert.deepEqual(think("xhigh"), { type: "enabled", budget_tokens: 24576 });
  assert.deepEqual(think("high", 5000), { type: "enabled", budget_tokens: 4999 });
  assert.equal(think("high", 500), undefined);
  assert.deepEqual(think("none"), { type: "disabled" });
});

Deno.test("store, include and text.format: accepted; JSON formats become an instruction", () => {
  const out = responsesRequestToClaude({
    model: "m",
    input: "hi",
    store: true,
    include: ["reasoning.encrypted_content"],
    text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true } },
  });
  assert.equal(out.includeEncryptedReasoning, true);
  assert.match(out.request.system.at(-1)!.text, /JSON Schema \(answer\):\n\{"type":"object"\}/);
  const plain = responsesRequestToClaude({ model: "m", input: "hi", store: false });
  assert.equal(plain.includeEncryptedReasoning, false);
  assert.deepEqual(plain.request.system, []);
});

Deno.test("bad input is a 400 that names the field", () => {
  rejects(
    { model: "m", input: "hi", previous_response_id: "resp_1" },
    /^previous_response_id: .*does not store/,
  );
  rejects({ model: "m", input: "hi", conversation: "conv_1" }, /^conversation: /);
  rejects({ input: "hi" }, /^model: /);
  rejects({ model: "m" }, /^input: /);
  rejects({ model: "m", input: [] }, /^input: at least one/);
  rejects({ model: "m", input: [{ type: "item_reference", id: "x" }] }, /^input\[0\]: item_reference/);
  rejects({ model: "m", input: [{ type: "computer_call" }] }, /^input\[0\]\.type: unsupported/);
  rejects(
    { model: "m", input: [{ type: "function_call", call_id: "c", name: "f", arguments: "{" }] },
    /^input\[0\]\.arguments: not valid JSON/,
  );
  rejects(
    { model: "m", input: [{ role: "user", content: [{ type: "input_image", file_id: "f" }] }] },
    /image_url/,
  );
  rejects({ model: "m", input: [{ role: "robot", content: "x" }] }, /^input\[0\]\.role: /);
  rejects({ model: "m", input: "hi", tools: [{ type: "function" }] }, /^tools\[0\]\.name: /);
  rejects({ model: "m", input: "hi", reasoning: { effort: "huge" } }, /^reasoning\.effort: /);
  rejects({ model: "m", input: "hi", max_output_tokens: 0 }, /^max_output_tokens: /);
});
