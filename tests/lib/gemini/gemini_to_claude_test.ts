import assert from "node:assert/strict";
import type { ClaudeStreamEvent } from "../../../lib/claude/events.ts";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { ProtocolError, UpstreamError } from "../../../lib/errors.ts";
import { decodeToolUseId, SKIP_THOUGHT_SIGNATURE } from "../../../lib/gemini/thought_signature.ts";
import { bytes, chunk, runStage, sse } from "../../_helpers/gemini_helpers.ts";

const USAGE = {
  promptTokenCount: 120,
  candidatesTokenCount: 30,
  thoughtsTokenCount: 12,
  cachedContentTokenCount: 100,
  totalTokenCount: 162,
};

/** A realistic Gemini 3 stream: thoughts, a signature, text, a signed function call, usage. */
const FULL_STREAM = [
  sse(chunk([{ text: "Let me ", thought: true }])),
  sse(
    chunk([{ text: "think… 世界 🎉", thought: true }, {
      text: "",
      thought: true,
      thoughtSignature: "SIG_THOUGHT",
    }]),
  ),
  sse(chunk([{ text: "Héllo " }])),
  sse(chunk([{ text: "wörld" }])),
  sse(
    chunk([{
      functionCall: { name: "read_file", args: { path: "a.txt", n: [1, 2] } },
      thoughtSignature: "SIG/FC+=",
    }]),
  ),
  sse(chunk([], { finishReason: "STOP", usageMetadata: USAGE })),
].join("");

function assertWellFormed(events: ClaudeStreamEvent[]): void {
  assert.equal(events[0]?.type, "message_start");
  assert.equal(events.at(-1)?.type, "message_stop");
  assert.equal(events.filter((e) => e.type === "message_delta").length, 1);
  let open = -1;
  let next = 0;
  for (const e of events) {
    if (e.type === "content_block_start") {
      assert.equal(open, -1, "a block started while another was open");
      assert.equal(e.index, next);
      open = e.index;
      next += 1;
    } else if (e.type === "content_block_delta") {
      assert.equal(e.index, open);
    } else if (e.type === "content_block_stop") {
      assert.equal(e.index, open);
      open = -1;
    } else if (e.type === "message_delta") {
      assert.equal(open, -1, "message_delta with an open block");
    }
  }
}

Deno.test("GeminiToClaude maps thinking, text and a function call with signatures and usage", async () => {
  const { events, error } = await runStage([bytes(FULL_STREAM)]);
  assert.equal(error, undefined);
  assertWellFormed(events);
  const message = await MessageCollector.collect(ReadableStream.from(events));
  assert.equal(message.id, "msg_test01");
  assert.equal(message.stop_reason, "tool_use");
  assert.deepEqual(message.content[0], {
    type: "thinking",
    thinking: "Let me think… 世界 🎉",
    signature: "SIG_THOUGHT",
  });
  assert.deepEqual(message.content[1], { type: "text", text: "Héllo wörld" });
  const tool = message.content[2]!;
  assert.equal(tool.type, "tool_use");
  assert.equal(tool.name, "read_file");
  assert.deepEqual(tool.input, { path: "a.txt", n: [1, 2] });
  assert.deepEqual(decodeToolUseId(String(tool.id)), { callId: "toolu_test01_0", signature: "SIG/FC+=" });
  assert.deepEqual(message.usage, {
    input_tokens: 20,
    output_tokens: 42,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 100,
  });
  const start = events[0]!;
  assert.equal(start.type === "message_start" && start.message.usage.input_tokens, 42);
});

Deno.test("GeminiToClaude output does not depend on chunking (every byte offset, LF and CRLF)", async () => {
  for (const eol of ["\r\n", "\n"]) {
    const text = eol === "\r\n" ? FULL_STREAM : FULL_STREAM.replaceAll("\r\n", "\n");
    const all = bytes(text);
    const expected = JSON.stringify((await runStage([all])).events);
    for (let cut = 1; cut < all.length; cut++) {
      const { events, error } = await runStage([all.subarray(0, cut), all.subarray(cut)]);
      assert.equal(error, undefined, `cut at ${cut}`);
      assert.equal(JSON.stringify(events), expected, `cut at ${cut}`);
    }
    const single = await runStage([...all].map((b) => new Uint8Array([b])));
    assert.equal(JSON.stringify(single.events), expected);
  }
});

Deno.test("GeminiToClaude signs thinking that Gemini left unsigned before the next block", async () => {
  const { events, error } = await runStage([bytes(
    sse(chunk([{ text: "hmm", thought: true }])) + sse(chunk([{ text: "done" }], { finishReason: "STOP" })),
  )]);
  assert.equal(error, undefined);
  assertWellFormed(events);
  const message = await MessageCollector.collect(ReadableStream.from(events));
  assert.deepEqual(message.content, [
    { type: "thinking", thinking: "hmm", signature: SKIP_THOUGHT_SIGNATURE },
    { type: "text", text: "done" },
  ]);
  assert.equal(message.stop_reason, "end_turn");
});

Deno.test("GeminiToClaude closes a thinking-only answer with a signature", async () => {
  const { events, error } = await runStage([bytes(
    sse(chunk([{ text: "only thinking", thought: true }], { finishReason: "STOP" })),
  )]);
  assert.equal(error, undefined);
  assertWellFormed(events);
  const message = await MessageCollector.collect(ReadableStream.from(events));
  assert.deepEqual(message.content, [{
    type: "thinking",
    thinking: "only thinking",
    signature: SKIP_THOUGHT_SIGNATURE,
  }]);
});

Deno.test("GeminiToClaude maps each finish reason", async () => {
  const cases: Array<[string, string]> = [
    ["STOP", "end_turn"],
    ["MAX_TOKENS", "max_tokens"],
    ["SAFETY", "refusal"],
    ["RECITATION", "refusal"],
    ["PROHIBITED_CONTENT", "refusal"],
    ["OTHER", "end_turn"],
    ["MALFORMED_FUNCTION_CALL", "end_turn"],
  ];
  for (const [reason, stop] of cases) {
    const { events, error } = await runStage([
      bytes(sse(chunk([{ text: "partial" }], { finishReason: reason }))),
    ]);
    assert.equal(error, undefined, reason);
    assertWellFormed(events);
    const message = await MessageCollector.collect(ReadableStream.from(events));
    assert.equal(message.stop_reason, stop, reason);
    if (stop === "refusal") {
      assert.match(String(message.content[0]!.text), new RegExp(`^partial\\n\\n\\[.*${reason}`));
    }
  }
  // A tool call with STOP is tool_use; a blocked prompt is a refusal; MALFORMED with nothing is a failure.
  const tool = await runStage([
    bytes(sse(chunk([{ functionCall: { id: "call_1", name: "x", args: {} } }], { finishReason: "STOP" }))),
  ]);
  const toolMessage = await MessageCollector.collect(ReadableStream.from(tool.events));
  assert.equal(toolMessage.stop_reason, "tool_use");
  assert.equal(toolMessage.content[0]!.id, "call_1");
  const blocked = await runStage([bytes(sse({ response: { promptFeedback: { blockReason: "SAFETY" } } }))]);
  assert.equal(blocked.error, undefined);
  const blockedMessage = await MessageCollector.collect(ReadableStream.from(blocked.events));
  assert.equal(blockedMessage.stop_reason, "refusal");
  assert.match(String(blockedMessage.content[0]!.text), /prompt was blocked/);
  const malformed = await runStage([bytes(sse(chunk([], { finishReason: "MALFORMED_FUNCTION_CALL" })))]);
  assert.ok(malformed.error instanceof UpstreamError);
});

Deno.test("GeminiToClaude errors a stream that ends without a finish reason", async () => {
  const { events, error } = await runStage([bytes(sse(chunk([{ text: "cut off" }])))]);
  assert.ok(error instanceof UpstreamError);
  assert.equal(error.kind, "transient");
  assert.equal(events.some((e) => e.type === "message_delta" || e.type === "message_stop"), false);
  const empty = await runStage([bytes("")]);
  assert.ok(empty.error instanceof UpstreamError);
});

Deno.test("GeminiToClaude turns an error chunk mid-stream into a classified UpstreamError", async () => {
  const errorChunk = {
    error: {
      code: 429,
      status: "RESOURCE_EXHAUSTED",
      message: "Resource has been exhausted",
      details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" }],
    },
  };
  const { events, error } = await runStage([bytes(sse(chunk([{ text: "a" }])) + sse(errorChunk))]);
  assert.ok(error instanceof UpstreamError);
  assert.equal(error.kind, "throttled");
  assert.equal(error.retryAfterMs, 7000);
  assert.equal(events.some((e) => e.type === "message_stop"), false);
});

Deno.test("GeminiToClaude rejects a chunk that is not JSON", async () => {
  const { error } = await runStage([bytes("data: {not json\r\n\r\n")]);
  assert.ok(error instanceof ProtocolError);
});

Deno.test("GeminiToClaude reports usage without cache and falls back to the estimate", async () => {
  const withUsage = await runStage([bytes(
    sse(
      chunk([{ text: "x" }], {
        finishReason: "STOP",
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 3 },
      }),
    ),
  )]);
  const delta = withUsage.events.find((e) => e.type === "message_delta");
  assert.deepEqual(delta?.type === "message_delta" && delta.usage, {
    input_tokens: 10,
    output_tokens: 3,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  });
  // Usage arriving in a chunk after the finish reason still counts.
  const late = await runStage([bytes(
    sse(chunk([{ text: "x" }], { finishReason: "STOP" })) +
      sse({ response: { usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 1 } } }),
  )]);
  const lateDelta = late.events.find((e) => e.type === "message_delta");
  assert.equal(lateDelta?.type === "message_delta" && lateDelta.usage.input_tokens, 5);
  const none = await runStage([bytes(sse(chunk([{ text: "x" }], { finishReason: "STOP" })))]);
  const noneDelta = none.events.find((e) => e.type === "message_delta");
  assert.equal(noneDelta?.type === "message_delta" && noneDelta.usage.input_tokens, 42);
});
