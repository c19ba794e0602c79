import assert from "node:assert/strict";
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { ClaudeStreamEvent } from "../../../lib/claude/events.ts";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { ProtocolError, UpstreamError } from "../../../lib/errors.ts";
import { OpenAIToClaude } from "../../../lib/custom/openai_to_claude.ts";
import { fakeSign, openAIChunk, openAIUsageChunk, streamError } from "../../_helpers/fake_openai_upstream.ts";

const encoder = new TextEncoder();

function stage(): OpenAIToClaude {
  return new OpenAIToClaude({
    messageId: "msg_abc",
    model: "claude-sonnet-4-6",
    inputTokens: 11,
    sign: fakeSign,
  });
}

/** bytes (in the given chunks) -> TextDecoderStream -> SSE parser -> OpenAIToClaude. */
function run(chunks: Uint8Array[]): ReadableStream<ClaudeStreamEvent> {
  return ReadableStream.from(chunks)
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .pipeThrough(stage());
}

function bytes(text: string): Uint8Array[] {
  return [encoder.encode(text)];
}

const TOOL_STREAM = [
  openAIChunk({ role: "assistant", content: "" }),
  openAIChunk({ reasoning_content: "Let me think 🤔 about " }),
  openAIChunk({ reasoning_content: "the weather." }),
  openAIChunk({ content: "Checking 天气 now." }),
  openAIChunk({
    tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "weather", arguments: "" } }],
  }),
  openAIChunk({
    tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "time", arguments: "" } }],
  }),
  openAIChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  openAIChunk({ tool_calls: [{ index: 1, function: { arguments: '{"tz":"Europe/Paris"}' } }] }),
  openAIChunk({ tool_calls: [{ index: 0, function: { arguments: '"Zürich"}' } }] }),
  openAIChunk({}, "tool_calls"),
  openAIUsageChunk(120, 40, 100),
  "data: [DONE]\n\n",
].join("");

Deno.test("OpenAIToClaude turns text and usage into a complete Claude stream", async () => {
  const events = await Array.fromAsync(run(bytes(
    openAIChunk({ role: "assistant", content: "" }) + openAIChunk({ content: "Hello" }) +
      openAIChunk({ content: " world" }) + openAIChunk({}, "stop") + openAIUsageChunk(30, 5, 10) +
      "data: [DONE]\n\n",
  )));
  assert.deepEqual(events, [
    {
      type: "message_start",
      message: {
        id: "msg_abc",
        type: "message",
        role: "assistant",
        model: "claude-sonnet-4-6",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 11, output_tokens: 0 },
      },
    },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " world" } },
    { type: "content_block_stop", index: 0 },
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: {
        input_tokens: 20,
        output_tokens: 5,
        cache_read_input_tokens: 10,
        cache_creation_input_tokens: 0,
      },
    },
    { type: "message_stop" },
  ]);
});

Deno.test("OpenAIToClaude keeps interleaved parallel tool calls apart and signs reasoning", async () => {
  const message = await MessageCollector.collect(run(bytes(TOOL_STREAM)));
  assert.deepEqual(message.content, [
    {
      type: "thinking",
      thinking: "Let me think 🤔 about the weather.",
      signature: fakeSign("Let me think 🤔 about the weather."),
    },
    { type: "text", text: "Checking 天气 now." },
    { type: "tool_use", id: "call_a", name: "weather", input: { city: "Zürich" } },
    { type: "tool_use", id: "call_b", name: "time", input: { tz: "Europe/Paris" } },
  ]);
  assert.equal(message.stop_reason, "tool_use");
  assert.deepEqual(message.usage, {
    input_tokens: 20,
    output_tokens: 40,
    cache_read_input_tokens: 100,
    cache_creation_input_tokens: 0,
  });
});

Deno.test("OpenAIToClaude output does not depend on where the bytes are split", async () => {
  const all = encoder.encode(TOOL_STREAM);
  const expected = JSON.stringify(await Array.fromAsync(run([all])));
  for (let cut = 1; cut < all.length; cut++) {
    const events = await Array.fromAsync(run([all.subarray(0, cut), all.subarray(cut)]));
    assert.equal(JSON.stringify(events), expected, `split at byte ${cut}`);
  }
  const single = await Array.fromAsync(run([...all].map((b) => Uint8Array.of(b))));
  assert.equal(JSON.stringify(single), expected, "one byte per chunk");
});

Deno.test("OpenAIToClaude treats an id repeated in every chunk as one tool call", async () => {
  const call = (args: string) => ({
    tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "Bash", arguments: args } }],
  });
  const message = await MessageCollector.collect(run(bytes(
    openAIChunk(call("")) + openAIChunk(call('{"command"')) + openAIChunk(call(':"ls -la"')) +
      openAIChunk(call("}")) + openAIChunk({}, "tool_calls") + "data: [DONE]\n\n",
  )));
  assert.deepEqual(message.content, [{
    type: "tool_use",
    id: "call_x",
    name: "Bash",
    input: { command: "ls -la" },
  }]);
});

Deno.test("OpenAIToClaude opens each tool block with input {} and one complete JSON delta", async () => {
  const events = await Array.fromAsync(run(bytes(
    openAIChunk({
      tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"a"' } }],
    }) +
      openAIChunk({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] }) +
      openAIChunk({}, "tool_calls"),
  )));
  assert.deepEqual(events.slice(1, 4), [
    {
      type: "content_block_start",
      index: 0,
      content_block: { type: "tool_use", id: "call_1", name: "f", input: {} },
    },
    { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"a":1}' } },
    { type: "content_block_stop", index: 0 },
  ]);
});

Deno.test("OpenAIToClaude reports tool_use when a server says stop after tool calls, and refusal for content_filter", async () => {
  const tool = await MessageCollector.collect(run(bytes(
    openAIChunk({ tool_calls: [{ index: 0, id: "c", function: { name: "f", arguments: "{}" } }] }) +
      openAIChunk({}, "stop"),
  )));
  assert.equal(tool.stop_reason, "tool_use");
  const filtered = await MessageCollector.collect(
    run(bytes(openAIChunk({ content: "I" }) + openAIChunk({}, "content_filter"))),
  );
  assert.equal(filtered.stop_reason, "refusal");
  const long = await MessageCollector.collect(
    run(bytes(openAIChunk({ content: "I" }) + openAIChunk({}, "length"))),
  );
  assert.equal(long.stop_reason, "max_tokens");
});

Deno.test("OpenAIToClaude accepts a stream without [DONE] once finish_reason came", async () => {
  const message = await MessageCollector.collect(
    run(bytes(openAIChunk({ content: "ok" }) + openAIChunk({}, "stop"))),
  );
  assert.equal(message.stop_reason, "end_turn");
  assert.deepEqual(message.content, [{ type: "text", text: "ok" }]);
  // No usage from the upstream: the local estimate stays, output is estimated from the text.
  assert.deepEqual(message.usage, { input_tokens: 11, output_tokens: 1 });
});

Deno.test("OpenAIToClaude fails a stream that stops before finish_reason", async () => {
  const error = await streamError(run(bytes(openAIChunk({ content: "partial" }))));
  assert.ok(error instanceof UpstreamError);
  assert.equal(error.kind, "transient");
  const withDone = await streamError(run(bytes(openAIChunk({ content: "partial" }) + "data: [DONE]\n\n")));
  assert.ok(withDone instanceof UpstreamError);
});

Deno.test("OpenAIToClaude fails on tool arguments that are not a JSON object", async () => {
  const error = await streamError(run(bytes(
    openAIChunk({ tool_calls: [{ index: 0, id: "c", function: { name: "f", arguments: '{"a":' } }] }) +
      openAIChunk({}, "tool_calls"),
  )));
  assert.ok(error instanceof ProtocolError);
  const array = await streamError(run(bytes(
    openAIChunk({ tool_calls: [{ index: 0, id: "c", function: { name: "f", arguments: "[1]" } }] }) +
      openAIChunk({}, "tool_calls"),
  )));
  assert.ok(array instanceof ProtocolError);
});

Deno.test("OpenAIToClaude turns an error object inside the stream into a classified UpstreamError", async () => {
  const error = await streamError(run(bytes(
    openAIChunk({ content: "a" }) +
      `data: ${
        JSON.stringify({
          error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" },
        })
      }\n\n`,
  )));
  assert.ok(error instanceof UpstreamError);
  assert.equal(error.kind, "throttled");
  assert.equal(error.message, "Rate limit reached");
  // OpenRouter puts a numeric status in `code`.
  const routed = await streamError(
    run(bytes(`data: ${JSON.stringify({ error: { message: "bad gateway", code: 502 } })}\n\n`)),
  );
  assert.ok(routed instanceof UpstreamError);
  assert.equal(routed.kind, "transient");
});

Deno.test("OpenAIToClaude fails on a data line that is not JSON", async () => {
  const error = await streamError(run(bytes("data: {not json\n\n")));
  assert.ok(error instanceof ProtocolError);
});

Deno.test("OpenAIToClaude maps `reasoning` (OpenRouter) and thinking that follows text", async () => {
  const message = await MessageCollector.collect(run(bytes(
    openAIChunk({ reasoning: "first" }) + openAIChunk({ content: "A" }) +
      openAIChunk({ reasoning: "second" }) +
      openAIChunk({ content: "B" }) + openAIChunk({}, "stop"),
  )));
  assert.deepEqual(message.content, [
    { type: "thinking", thinking: "first", signature: fakeSign("first") },
    { type: "text", text: "A" },
    { type: "thinking", thinking: "second", signature: fakeSign("second") },
    { type: "text", text: "B" },
  ]);
});

Deno.test("OpenAIToClaude gives a new call its own block when a server reuses index 0 with a new id", async () => {
  const message = await MessageCollector.collect(run(bytes(
    openAIChunk({ tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: '{"n":1}' } }] }) +
      openAIChunk({ tool_calls: [{ index: 0, id: "c2", function: { name: "g", arguments: '{"n":2}' } }] }) +
      openAIChunk({}, "tool_calls"),
  )));
  assert.deepEqual(message.content, [
    { type: "tool_use", id: "c1", name: "f", input: { n: 1 } },
    { type: "tool_use", id: "c2", name: "g", input: { n: 2 } },
  ]);
});
