import assert from "node:assert/strict";
import { ThinkingSigner } from "../../../lib/claude/thinking_signer.ts";
import { claudeToGemini, geminiSessionId } from "../../../lib/gemini/request_converter.ts";
import { encodeToolUseId, SKIP_THOUGHT_SIGNATURE } from "../../../lib/gemini/thought_signature.ts";
import { claudeRequest } from "../../_helpers/gemini_helpers.ts";

const OPTIONS = { model: "gemini-3-pro-high", project: "proj-1", sessionId: "-42", requestId: "agent-1" };

Deno.test("claudeToGemini builds the envelope with system, text and per-conversation session", () => {
  const envelope = claudeToGemini(
    claudeRequest({
      system: [{ type: "text", text: "You are terse." }, { type: "text", text: "" }],
      messages: [{ role: "user", content: "hello" }],
    }),
    OPTIONS,
  );
  assert.equal(envelope.model, "gemini-3-pro-high");
  assert.equal(envelope.project, "proj-1");
  assert.equal(envelope.requestId, "agent-1");
  assert.equal(envelope.requestType, "agent");
  assert.deepEqual(envelope.request.systemInstruction, { role: "user", parts: [{ text: "You are terse." }] });
  assert.deepEqual(envelope.request.contents, [{ role: "user", parts: [{ text: "hello" }] }]);
  assert.equal(envelope.request.sessionId, "-42");
  assert.equal(envelope.request.tools, undefined);
  assert.equal(envelope.request.toolConfig, undefined);
  // The session id is stable per conversation and differs between conversations.
  assert.equal(geminiSessionId("conv-a"), geminiSessionId("conv-a"));
  assert.notEqual(geminiSessionId("conv-a"), geminiSessionId("conv-b"));
  assert.match(geminiSessionId("conv-a"), /^-?\d+$/);
});

Deno.test("claudeToGemini converts base64 images and describes URL images", () => {
  const envelope = claudeToGemini(
    claudeRequest({
      messages: [{
        role: "user",
        content: [
          { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "AAAA" } },
          { type: "image", source: { type: "url", url: "https://example.com/x.png" } },
          { type: "text", text: "what is this?" },
        ],
      }],
    }),
    OPTIONS,
  );
  const parts = envelope.request.contents[0]!.parts;
  assert.deepEqual(parts[0], { inlineData: { mimeType: "image/jpeg", data: "AAAA" } });
  assert.match(String(parts[1]!.text), /image omitted/);
  assert.deepEqual(parts[2], { text: "what is this?" });
});

Deno.test("claudeToGemini round-trips tools: declarations, calls, results with recovered names", () => {
  const signedId = encodeToolUseId("toolu_abc_0", "SIG/fc+==");
  const envelope = claudeToGemini(
    claudeRequest({
      tools: [
        {
          name: "read_file",
          description: "Read a file",
          input_schema: {
            type: "object",
            properties: { path: { type: "string", minLength: 1 } },
            required: ["path"],
          },
        },
        { name: "noop", input_schema: { type: "object", properties: {} } },
        { name: "web_search", type: "web_search_20250305" },
      ],
      tool_choice: { type: "tool", name: "read_file" },
      messages: [
        { role: "user", content: "read it" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Reading." },
            { type: "tool_use", id: signedId, name: "read_file", input: { path: "a.txt" } },
            { type: "tool_use", id: "toolu_plain", name: "noop", input: {} },
          ],
        },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: signedId,
              content: [{ type: "text", text: "line1" }, { type: "text", text: "line2" }],
            },
            { type: "tool_result", tool_use_id: "toolu_plain", content: "boom", is_error: true },
            { type: "tool_result", tool_use_id: "toolu_plain", name: "custom_name", content: "x" },
            { type: "text", text: "go on" },
          ],
        },
      ],
    }),
    OPTIONS,
  );
  assert.deepEqual(envelope.request.tools, [{
    functionDeclarations: [
      {
        name: "read_file",
        description: "Read a file",
        parameters: {
          type: "object",
          properties: { path: { type: "string", description: "(minLength: 1)" } },
          required: ["path"],
        },
      },
      { name: "noop" },
    ],
  }]);
  assert.deepEqual(envelope.request.toolConfig, {
    functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["read_file"] },
  });
  const [, model, results] = envelope.request.contents;
  assert.equal(model!.role, "model");
  assert.deepEqual(model!.parts, [
    { text: "Reading." },
    {
      functionCall: { id: "toolu_abc_0", name: "read_file", args: { path: "a.txt" } },
      thoughtSignature: "SIG/fc+==",
    },
    { functionCall: { id: "toolu_plain", name: "noop", args: {} } },
  ]);
  assert.deepEqual(results!.parts, [
    { functionResponse: { id: "toolu_abc_0", name: "read_file", response: { output: "line1\nline2" } } },
    { functionResponse: { id: "toolu_plain", name: "noop", response: { error: "boom" } } },
    { functionResponse: { id: "toolu_plain", name: "custom_name", response: { output: "x" } } },
    { text: "go on" },
  ]);
});

Deno.test("claudeToGemini puts the skip signature on an unsigned first function call of a model turn", () => {
  const envelope = claudeToGemini(
    claudeRequest({
      messages: [
        { role: "user", content: "do it" },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "toolu_1", name: "a", input: {} }, {
            type: "tool_use",
            id: "toolu_2",
            name: "a",
            input: {},
          }],
        },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }, {
            type: "tool_result",
            tool_use_id: "toolu_2",
            content: "ok",
          }],
        },
      ],
    }),
    OPTIONS,
  );
  const parts = envelope.request.contents[1]!.parts;
  assert.equal(parts[0]!.thoughtSignature, SKIP_THOUGHT_SIGNATURE);
  assert.equal(parts[1]!.thoughtSignature, undefined);
});

Deno.test("claudeToGemini replays thinking with real signatures, the placeholder for missing or foreign ones", () => {
  const ours = new ThinkingSigner(new Uint8Array(32)).sign("other backend");
  const envelope = claudeToGemini(
    claudeRequest({
      messages: [
        { role: "user", content: "q1" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "let me think", signature: "REAL_SIG" },
            { type: "thinking", thinking: "unsigned" },
            { type: "thinking", thinking: "from amazon q", signature: ours },
            { type: "thinking", thinking: "", signature: "TEXT_SIG" },
            { type: "text", text: "answer" },
          ],
        },
        { role: "user", content: "q2" },
        { role: "assistant", content: [{ type: "thinking", thinking: "only thoughts", signature: "S2" }] },
        { role: "user", content: "q3" },
      ],
    }),
    OPTIONS,
  );
  const first = envelope.request.contents[1]!.parts;
  assert.deepEqual(first, [
    { text: "let me think", thought: true, thoughtSignature: "REAL_SIG" },
    { text: "unsigned", thought: true, thoughtSignature: SKIP_THOUGHT_SIGNATURE },
    { text: "from amazon q", thought: true, thoughtSignature: SKIP_THOUGHT_SIGNATURE },
    { text: "answer", thoughtSignature: "TEXT_SIG" },
  ]);
  const thinkingOnly = envelope.request.contents[3]!.parts;
  assert.equal(thinkingOnly.length, 2);
  assert.deepEqual(thinkingOnly[0], { text: "only thoughts", thought: true, thoughtSignature: "S2" });
  assert.equal(thinkingOnly[1]!.thought, undefined);
  assert.ok(String(thinkingOnly[1]!.text).length > 0);
});

Deno.test("claudeToGemini honours generation parameters and maps thinking budgets", () => {
  const envelope = claudeToGemini(
    claudeRequest({
      max_tokens: 8000,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 17,
      stop_sequences: ["END"],
      thinking: { type: "enabled", budget_tokens: 3000 },
      messages: [{ role: "user", content: "hi" }],
    }),
    OPTIONS,
  );
  assert.deepEqual(envelope.request.generationConfig, {
    maxOutputTokens: 8000,
    temperature: 0.2,
    topP: 0.9,
    topK: 17,
    stopSequences: ["END"],
    thinkingConfig: { includeThoughts: true, thinkingBudget: 3000 },
  });
  const clamped = claudeToGemini(
    claudeRequest({
      max_tokens: 1000,
      thinking: { type: "enabled", budget_tokens: 5000 },
      messages: [{ role: "user", content: "x" }],
    }),
    OPTIONS,
  );
  assert.deepEqual(clamped.request.generationConfig, {
    maxOutputTokens: 1000,
    thinkingConfig: { includeThoughts: true, thinkingBudget: 999 },
  });
  const adaptive = claudeToGemini(
    claudeRequest({ thinking: { type: "adaptive" }, messages: [{ role: "user", content: "x" }] }),
    OPTIONS,
  );
  assert.deepEqual(adaptive.request.generationConfig.thinkingConfig, {
    includeThoughts: true,
    thinkingBudget: -1,
  });
  const plain = claudeToGemini(claudeRequest({ messages: [{ role: "user", content: "x" }] }), OPTIONS);
  assert.deepEqual(plain.request.generationConfig, { maxOutputTokens: 1024 });
});

Deno.test("claudeToGemini skips empty turns and merges consecutive same-role turns", () => {
  const envelope = claudeToGemini(
    claudeRequest({
      messages: [
        { role: "user", content: "hello" },
        { role: "assistant", content: [] },
        { role: "user", content: "world" },
      ],
    }),
    OPTIONS,
  );
  assert.deepEqual(envelope.request.contents, [{
    role: "user",
    parts: [{ text: "hello" }, { text: "world" }],
  }]);
});
