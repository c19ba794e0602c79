import assert from "node:assert/strict";
import { AmazonQToClaude, type AmazonQToClaudeOptions } from "../../../lib/amazonq/amazonq_to_claude.ts";
import { EventStreamDecoder } from "../../../lib/amazonq/event_stream_decoder.ts";
import type { ClaudeStreamEvent } from "../../../lib/claude/events.ts";
import { MessageCollector } from "../../../lib/claude/message_collector.ts";
import { ProtocolError, UpstreamError } from "../../../lib/errors.ts";
import {
  assertWellFormed,
  chunked,
  collect,
  concat,
  errorFrame,
  eventFrame,
  exceptionFrame,
  randomSplit,
  seeded,
  splitAt,
  streamOf,
  text,
} from "../../_helpers/amazonq_helpers.ts";

function options(overrides: Partial<AmazonQToClaudeOptions> = {}): AmazonQToClaudeOptions {
  return {
    messageId: "msg_test",
    model: "claude-sonnet-4-5",
    inputTokens: 11,
    sign: (t) => `sig(${t.length})`,
    countTokens: (t) => Math.ceil(t.length / 4),
    maxTokens: 4096,
    now: () => Date.UTC(2026, 4, 17, 12),
    ...overrides,
  };
}

function pipeline(
  chunks: Uint8Array[],
  opts: Partial<AmazonQToClaudeOptions> = {},
): ReadableStream<ClaudeStreamEvent> {
  return streamOf(chunks).pipeThrough(new EventStreamDecoder()).pipeThrough(
    new AmazonQToClaude(options(opts)),
  );
}

const run = (chunks: Uint8Array[], opts: Partial<AmazonQToClaudeOptions> = {}) =>
  collect(pipeline(chunks, opts));

async function failure(chunks: Uint8Array[], opts: Partial<AmazonQToClaudeOptions> = {}) {
  const events: ClaudeStreamEvent[] = [];
  try {
    for await (const event of pipeline(chunks, opts)) events.push(event);
  } catch (error) {
    return { events, error };
  }
  throw new Error(`stream completed: ${JSON.stringify(events)}`);
}

Deno.test("AmazonQToClaude streams text with message_start first and end_turn last", async () => {
  const bytes = concat([
    eventFrame("initial-response", { conversationId: "c1" }),
    text("Hello"),
    text(" world"),
    eventFrame("meteringEvent", { usage: 0.1, unit: "credit" }),
  ]);
  const events = await run([bytes]);
  assertWellFormed(events);
  assert.deepEqual(events[0], {
    type: "message_start",
    message: {
      id: "msg_test",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 11,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
  });
  assert.deepEqual(events.slice(1), [
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " world" } },
    { type: "content_block_stop", index: 0 },
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: {
        input_tokens: 11,
        output_tokens: 3,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
    { type: "message_stop" },
  ]);
});

Deno.test("AmazonQToClaude collected non-streamed gives the same message for every split", async () => {
  const bytes = concat([
    text("Hi"),
    text("! I'm"),
    eventFrame("codeEvent", { content: " code" }),
    text(" Amazon Q ✓"),
  ]);
  const expected = await MessageCollector.collect(pipeline([bytes]));
  assert.deepEqual(expected.content, [{ type: "text", text: "Hi! I'm code Amazon Q ✓" }]);
  assert.equal(expected.stop_reason, "end_turn");
  for (let cut = 0; cut <= bytes.length; cut += 3) {
    assert.deepEqual(await MessageCollector.collect(pipeline(splitAt(bytes, [cut]))), expected);
  }
  assert.deepEqual(await MessageCollector.collect(pipeline(chunked(bytes, 1))), expected);
});

Deno.test("AmazonQToClaude keeps two interleaved tool calls apart and stops with tool_use", async () => {
  const tool = (p: Record<string, unknown>) => eventFrame("toolUseEvent", p);
  const bytes = concat([
    text("Let me run"),
    tool({ toolUseId: "t1", name: "Bash" }),
    tool({ toolUseId: "t2", name: "Read", input: '{"file_' }),
    tool({ toolUseId: "t1", name: "Bash", input: '{"comm' }),
    tool({ toolUseId: "t2", name: "Read", input: 'path":"/a.txt"}' }),
    tool({ toolUseId: "t1", name: "Bash", input: 'and":"ls"}' }),
    tool({ toolUseId: "t1", name: "Bash", stop: true }),
    tool({ toolUseId: "t1", name: "Bash", input: '{"command":"ls"}' }), // replay: ignored
    tool({ toolUseId: "t2", name: "Read", stop: true }),
    tool({ toolUseId: "t3", name: "Glob", input: { pattern: "*.ts" }, stop: true }), // object input, one event
    eventFrame("metadataEvent", {
      tokenUsage: { uncachedInputTokens: 100, outputTokens: 40, cacheReadInputTokens: 7 },
    }),
  ]);
  const random = seeded(7);
  for (const chunks of [[bytes], chunked(bytes, 5), randomSplit(bytes, random, 30)]) {
    const events = await run(chunks);
    assertWellFormed(events);
    const message = await MessageCollector.collect(streamOf(events));
    assert.deepEqual(message.content, [
      { type: "text", text: "Let me run" },
      { type: "tool_use", id: "t1", name: "Bash", input: { command: "ls" } },
      { type: "tool_use", id: "t2", name: "Read", input: { file_path: "/a.txt" } },
      { type: "tool_use", id: "t3", name: "Glob", input: { pattern: "*.ts" } },
    ]);
    assert.equal(message.stop_reason, "tool_use");
    assert.deepEqual(message.usage, {
      input_tokens: 100,
      output_tokens: 40,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 7,
    });
  }
});

Deno.test("AmazonQToClaude never passes on a tool call with invalid JSON", async () => {
  const bytes = concat([
    eventFrame("toolUseEvent", { toolUseId: "t1", name: "Bash", input: '{"command": "ls"' }),
    eventFrame("toolUseEvent", { toolUseId: "t1", name: "Bash", stop: true }),
  ]);
  const { events, error } = await failure([bytes]);
  assert.ok(error instanceof ProtocolError);
  assert.ok(!events.some((e) => e.type === "content_block_start"));
  const array = concat([
    eventFrame("toolUseEvent", { toolUseId: "t1", name: "X", input: "[1]", stop: true }),
  ]);
  assert.ok((await failure([array])).error instanceof ProtocolError);
});

Deno.test("AmazonQToClaude turns <thinking> text and reasoning events into signed thinking blocks", async () => {
  const bytes = concat([
    text("<think"),
    text("ing>step one</thin"),
    text("king>\n\nDone."),
  ]);
  const message = await MessageCollector.collect(pipeline(chunked(bytes, 7), { thinking: true }));
  assert.deepEqual(message.content, [
    { type: "thinking", thinking: "step one", signature: "sig(8)" },
    { type: "text", text: "Done." },
  ]);
  // Without thinking requested, tags are plain text.
  const plain = await MessageCollector.collect(pipeline([bytes]));
  assert.deepEqual(plain.content, [{ type: "text", text: "<thinking>step one</thinking>\n\nDone." }]);

  const reasoning = concat([
    eventFrame("reasoningContentEvent", { text: "why " }),
    eventFrame("reasoningContentEvent", { text: "not", signature: "upstream" }),
    eventFrame("reasoningContentEvent", { redactedContent: "AQID" }),
    text("Answer"),
  ]);
  const events = await run([reasoning]);
  assertWellFormed(events);
  const collected = await MessageCollector.collect(streamOf(events));
  assert.deepEqual(collected.content, [
    { type: "thinking", thinking: "why not", signature: "sig(7)" },
    { type: "redacted_thinking", data: "AQID" },
    { type: "text", text: "Answer" },
  ]);
});

Deno.test("AmazonQToClaude errors the stream on an exception frame mid-stream", async () => {
  const cases: Array<[Uint8Array, string, RegExp]> = [
    [exceptionFrame("ThrottlingException", { message: "slow down" }), "throttled", /slow down/],
    [
      exceptionFrame("ServiceQuotaExceededException", { message: "limit", reason: "MONTHLY_REQUEST_COUNT" }),
      "quota_exhausted",
      /MONTHLY_REQUEST_COUNT/,
    ],
    [
      exceptionFrame("ValidationException", {
        message: "Input content length exceeds threshold",
        reason: "CONTENT_LENGTH_EXCEEDS_THRESHOLD",
      }),
      "context_overflow",
      /^prompt is too long/,
    ],
    [
      exceptionFrame("AccessDeniedException", { message: "no", reason: "TEMPORARILY_SUSPENDED" }),
      "suspended",
      /no/,
    ],
    [
      exceptionFrame("error", { message: "boom", reason: "MODEL_TEMPORARILY_UNAVAILABLE" }),
      "transient",
      /boom/,
    ],
    [exceptionFrame("InternalServerException", { message: "oops" }), "transient", /oops/],
    [errorFrame("InternalFailure", "it broke"), "transient", /it broke/],
    [
      eventFrame("invalidStateEvent", { reason: "INVALID_TASK_ASSIST_PLAN", message: "bad" }),
      "transient",
      /bad/,
    ],
  ];
  for (const [frame, kind, message] of cases) {
    const { events, error } = await failure([concat([text("partial"), frame, text("never")])]);
    assert.ok(error instanceof UpstreamError, String(error));
    assert.equal(error.kind, kind);
    assert.match(error.message, message);
    assert.equal(error.provider, "amazonq");
    assert.ok(!events.some((e) => e.type === "message_delta" || e.type === "message_stop"));
    assert.equal(events[0]?.type, "message_start");
  }
  const quota = (await failure([exceptionFrame("ServiceQuotaExceededException", { message: "x" })])).error;
  assert.equal((quota as UpstreamError).resetAt, Date.UTC(2026, 5, 1));
});

Deno.test("AmazonQToClaude: a body cut mid-frame is an error, never a complete answer", async () => {
  const bytes = concat([text("Hello"), text(" world, this is long")]);
  const { events, error } = await failure([bytes.subarray(0, bytes.length - 5)]);
  assert.ok(error instanceof ProtocolError);
  assert.ok(!events.some((e) => e.type === "message_stop"));
});

Deno.test("AmazonQToClaude: an empty body is a cut connection, trailer frames alone are an empty answer", async () => {
  // A body that ends before any content is the connection closing early: a transient failure that fails
  // over, worded like every other cut.
  for (const frames of [[], [eventFrame("initial-response", { conversationId: "c" })]]) {
    const { error } = await failure(frames);
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.kind, "transient");
    assert.match(error.message, /^upstream broke off: Amazon Q closed the stream before any content/);
  }
  const events = await run([eventFrame("metadataEvent", { tokenUsage: { outputTokens: 0 } })]);
  assertWellFormed(events);
  assert.deepEqual(events.map((e) => e.type), ["message_start", "message_delta", "message_stop"]);
});

Deno.test("AmazonQToClaude counts output tokens once, at the end, when the upstream reports none", async () => {
  const counted: string[] = [];
  const bytes = concat([text("a"), text("b"), text("c")]);
  const events = await run([bytes], { countTokens: (t) => (counted.push(t), 99) });
  assert.deepEqual(counted, ["abc"]);
  const delta = events.find((e) => e.type === "message_delta");
  assert.equal(delta?.type === "message_delta" && delta.usage.output_tokens, 99);
});

Deno.test("AmazonQToClaude enforces stop_sequences across chunk boundaries and cancels the upstream", async () => {
  const frames = [text("Hello wor"), text("ld ST"), text("OP and more"), text("never sent")];
  let cancelled: unknown = null;
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const frame of frames.slice(0, 3)) controller.enqueue(frame);
      // the last frame is never enqueued: the stream stays open until cancelled
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  const events = await collect(
    source.pipeThrough(new EventStreamDecoder()).pipeThrough(
      new AmazonQToClaude(options({ stopSequences: ["STOP", "zzz"] })),
    ),
  );
  assertWellFormed(events);
  const message = await MessageCollector.collect(streamOf(events));
  assert.deepEqual(message.content, [{ type: "text", text: "Hello world " }]);
  assert.equal(message.stop_reason, "stop_sequence");
  assert.equal(message.stop_sequence, "STOP");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.notEqual(cancelled, null, "the upstream body was cancelled");

  // Same answer for every split of the bytes.
  const bytes = concat(frames);
  for (let cut = 0; cut <= bytes.length; cut += 7) {
    const m = await MessageCollector.collect(pipeline(splitAt(bytes, [cut]), { stopSequences: ["STOP"] }));
    assert.deepEqual(m.content, [{ type: "text", text: "Hello world " }]);
  }
  // A partial match that does not complete is released.
  const partial = await MessageCollector.collect(pipeline([concat([text("a ST"), text("ILL")])], {
    stopSequences: ["STOP"],
  }));
  assert.deepEqual(partial.content, [{ type: "text", text: "a STILL" }]);
  assert.equal(partial.stop_reason, "end_turn");
  const atEnd = await MessageCollector.collect(pipeline([text("ends ST")], { stopSequences: ["STOP"] }));
  assert.deepEqual(atEnd.content, [{ type: "text", text: "ends ST" }]);
});

Deno.test("AmazonQToClaude enforces max_tokens approximately", async () => {
  const bytes = concat([text("0123456789"), text("0123456789"), text("0123456789"), text("0123456789")]);
  const message = await MessageCollector.collect(pipeline([bytes], { maxTokens: 5 }));
  assert.equal(message.stop_reason, "max_tokens");
  assert.deepEqual(message.content, [{ type: "text", text: "01234567890123456789" }]);
  const cjk = await MessageCollector.collect(pipeline([text("日本語のテキスト")], { maxTokens: 3 }));
  assert.deepEqual(cjk.content, [{ type: "text", text: "日本語" }]);
  assert.equal(cjk.stop_reason, "max_tokens");
});

Deno.test("AmazonQToClaude ignores unknown events and derives input tokens from context usage", async () => {
  const bytes = concat([
    eventFrame("followupPromptEvent", { followupPrompt: { content: "x" } }),
    eventFrame("someFutureEvent", { what: 1 }),
    text("ok"),
    eventFrame("contextUsageEvent", { contextUsagePercentage: 1 }),
  ]);
  const events = await run([bytes], { countTokens: () => 1 });
  assertWellFormed(events);
  const delta = events.find((e) => e.type === "message_delta");
  assert.equal(delta?.type === "message_delta" && delta.usage.input_tokens, 1999);
});
