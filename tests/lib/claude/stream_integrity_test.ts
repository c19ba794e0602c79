import assert from "node:assert/strict";
import { type ClaudeStreamEvent, messageStart } from "../../../lib/claude/events.ts";
import { sseBody } from "../../../lib/claude/sse_body.ts";
import { type GuardedEvent, StreamIntegrity } from "../../../lib/claude/stream_integrity.ts";
import { UpstreamError } from "../../../lib/errors.ts";
import { openAISseBody } from "../../../lib/openai/openai_sse_body.ts";
import { ClaudeToResponsesEvents } from "../../../lib/openai_responses/claude_to_responses_events.ts";
import { responsesRequestToClaude } from "../../../lib/openai_responses/responses_request_to_claude.ts";
import { responsesSseBody } from "../../../lib/openai_responses/responses_sse_body.ts";
import { brokeOff } from "../../../lib/upstream/broke_off.ts";
import { parseSse } from "../../_helpers/e2e_harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const START = messageStart("msg_1", "m", { input_tokens: 3, output_tokens: 0 });
const BLOCK_START: ClaudeStreamEvent = {
  type: "content_block_start",
  index: 0,
  content_block: { type: "text", text: "" },
};
const DELTA: ClaudeStreamEvent = {
  type: "content_block_delta",
  index: 0,
  delta: { type: "text_delta", text: "hi" },
};
const BLOCK_STOP: ClaudeStreamEvent = { type: "content_block_stop", index: 0 };
const MESSAGE_DELTA: ClaudeStreamEvent = {
  type: "message_delta",
  delta: { stop_reason: "end_turn", stop_sequence: null },
  usage: { input_tokens: 0, output_tokens: 1 },
};
const STOP: ClaudeStreamEvent = { type: "message_stop" };
const COMPLETE = [START, BLOCK_START, DELTA, BLOCK_STOP, MESSAGE_DELTA, STOP];

/**
 * Events pulled one at a time, then `error`, or silence for ever (`"hang"`), or a clean end; records a
 * cancellation.
 */
function source(events: ClaudeStreamEvent[], error?: unknown) {
  let i = 0;
  const state = {
    cancelled: undefined as unknown,
    stream: undefined as unknown as ReadableStream<ClaudeStreamEvent>,
  };
  state.stream = new ReadableStream<ClaudeStreamEvent>({
    pull(controller) {
      if (i < events.length) controller.enqueue(events[i++]!);
      else if (error === "hang") return new Promise<void>(() => {});
      else if (error !== undefined) controller.error(error);
      else controller.close();
    },
    cancel(reason) {
      state.cancelled = reason ?? "cancelled";
    },
  }, { highWaterMark: 0 });
  return state;
}

interface BadCase {
  name: string;
  events: ClaudeStreamEvent[];
  error?: unknown;
  /** Part of the one error's message. */
  message: RegExp;
}

const BAD: BadCase[] = [
  {
    name: "an upstream error in the middle of a block",
    events: [START, BLOCK_START, DELTA],
    error: brokeOff("amazonq", "connection reset"),
    message: /upstream broke off: connection reset/,
  },
  {
    name: "an upstream error before message_start",
    events: [],
    error: new UpstreamError("throttled", "slow down", { provider: "x" }),
    message: /slow down/,
  },
  {
    name: "an end without message_stop",
    events: [START, BLOCK_START, DELTA, BLOCK_STOP, MESSAGE_DELTA],
    message: /ended before the answer was complete/,
  },
  {
    name: "an end with no event at all",
    events: [],
    message: /ended before the answer was complete/,
  },
  {
    name: "two message_delta events (the rest is dropped)",
    events: [START, BLOCK_START, DELTA, BLOCK_STOP, MESSAGE_DELTA, MESSAGE_DELTA, STOP],
    message: /message_delta after message_delta/,
  },
  {
    name: "content before message_start",
    events: [BLOCK_START, DELTA, BLOCK_STOP, MESSAGE_DELTA, STOP],
    message: /content_block_start before message_start/,
  },
  {
    name: "message_stop without message_delta",
    events: [START, BLOCK_START, DELTA, BLOCK_STOP, STOP],
    message: /message_stop without message_delta/,
  },
  {
    name: "a second message_start",
    events: [START, BLOCK_START, START, DELTA, BLOCK_STOP, MESSAGE_DELTA, STOP],
    message: /a second message_start/,
  },
  {
    name: "content after message_delta",
    events: [START, BLOCK_START, DELTA, MESSAGE_DELTA, BLOCK_STOP, STOP],
    message: /content_block_stop after message_delta/,
  },
];

const OPTIONS = { id: "chatcmpl-1", model: "m", created: 1_700_000_000, includeUsage: true };

function responsesStage(): ClaudeToResponsesEvents {
  return new ClaudeToResponsesEvents({
    id: "resp_abc",
    model: "m",
    createdAt: 1_700_000_000,
    echo: responsesRequestToClaude({ model: "m", input: "hi" }).echo,
    includeEncryptedReasoning: false,
  });
}

for (const bad of BAD) {
  Deno.test(`StreamIntegrity: ${bad.name} ends the stage's output with exactly one error event`, async () => {
    const errors: unknown[] = [];
    const out: GuardedEvent[] = await Array.fromAsync(
      new StreamIntegrity({ onError: (e) => errors.push(e) }).guard(source(bad.events, bad.error).stream),
    );
    const failures = out.filter((e) => e.type === "error");
    assert.equal(failures.length, 1, JSON.stringify(out));
    assert.equal(out.at(-1)!.type, "error");
    assert.match((out.at(-1) as Json).error.message, bad.message);
    assert.ok(!out.some((e) => e.type === "message_stop"));
    assert.equal(errors.length, 1);
  });

  Deno.test(`Claude SSE: ${bad.name} ends with one error event and no message_stop`, async () => {
    const text = await new Response(sseBody(source(bad.events, bad.error).stream, { pingIntervalMs: 60_000 }))
      .text();
    const frames = parseSse(text);
    assert.equal(frames.filter((f) => f.event === "error").length, 1, text);
    assert.equal(frames.at(-1)!.event, "error");
    assert.equal((frames.at(-1)!.data as Json).type, "error");
    assert.match((frames.at(-1)!.data as Json).error.message, bad.message);
    assert.ok(!frames.some((f) => f.event === "message_stop"));
  });

  Deno.test(`OpenAI chunks: ${bad.name} ends with one error line and no [DONE]`, async () => {
    const text = await new Response(openAISseBody(source(bad.events, bad.error).stream, OPTIONS)).text();
    const frames = parseSse(text);
    const errorLines = frames.filter((f) => typeof f.data === "object" && "error" in (f.data as Json));
    assert.equal(errorLines.length, 1, text);
    assert.match((frames.at(-1)!.data as Json).error.message, bad.message);
    assert.ok(!frames.some((f) => f.data === "[DONE]"));
    assert.ok(!frames.some((f) => (f.data as Json).choices?.[0]?.finish_reason));
  });

  Deno.test(`Responses events: ${bad.name} ends with one error and response.failed`, async () => {
    const body = responsesSseBody(source(bad.events, bad.error).stream, responsesStage(), {
      pingIntervalMs: 60_000,
    });
    const frames = parseSse(await new Response(body).text());
    const types = frames.map((f) => f.event);
    assert.equal(types.filter((t) => t === "error").length, 1, types.join(","));
    assert.deepEqual(types.slice(-2), ["error", "response.failed"]);
    assert.equal(types.filter((t) => t === "response.failed").length, 1);
    assert.ok(!types.includes("response.completed") && !types.includes("response.incomplete"));
    assert.match((frames.at(-1)!.data as Json).response.error.message, bad.message);
  });
}

Deno.test("StreamIntegrity passes a complete answer through unchanged, pings included", async () => {
  const events = [START, { type: "ping" } as ClaudeStreamEvent, ...COMPLETE.slice(1)];
  const errors: unknown[] = [];
  const out = await Array.fromAsync(
    new StreamIntegrity({ onError: (e) => errors.push(e) }).guard(source(events).stream),
  );
  assert.deepEqual(out, events);
  assert.equal(errors.length, 0);
});

Deno.test("StreamIntegrity drops events after message_stop and ignores a failure after it", async () => {
  const errors: unknown[] = [];
  const out = await Array.fromAsync(
    new StreamIntegrity({ onError: (e) => errors.push(e) }).guard(
      source([...COMPLETE, DELTA, MESSAGE_DELTA], brokeOff("gemini", "late reset")).stream,
    ),
  );
  assert.deepEqual(out, COMPLETE);
  assert.equal(errors.length, 0);
});

Deno.test("StreamIntegrity cancels the source when the order is broken, and drops what follows", async () => {
  const upstream = source([START, START, DELTA, BLOCK_STOP, MESSAGE_DELTA, STOP]);
  const out = await Array.fromAsync(new StreamIntegrity().guard(upstream.stream));
  assert.deepEqual(out.map((e) => e.type), ["message_start", "error"]);
  assert.ok(upstream.cancelled !== undefined, "the upstream is cancelled after a protocol violation");
});

Deno.test("every outbound body cancels the upstream when the client goes away, with no error reported", async () => {
  const bodies: Array<
    [string, (s: ReadableStream<ClaudeStreamEvent>, onError: () => void) => ReadableStream<Uint8Array>]
  > = [
    ["claude", (s, onError) => sseBody(s, { pingIntervalMs: 60_000, onError })],
    ["openai", (s, onError) => openAISseBody(s, { ...OPTIONS, onError })],
    ["responses", (s, onError) => responsesSseBody(s, responsesStage(), { pingIntervalMs: 60_000, onError })],
  ];
  for (const [name, body] of bodies) {
    let errors = 0;
    // Never ends on its own: only a cancellation stops it.
    const upstream = source([START, BLOCK_START, DELTA], "hang");
    const reader = body(upstream.stream, () => errors++).getReader();
    assert.equal((await reader.read()).done, false);
    await reader.cancel("client went away");
    // The cancellation travels back through the pipes between the stages, a few turns each.
    for (let turn = 0; turn < 100 && upstream.cancelled === undefined; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.equal(upstream.cancelled, "client went away", name);
    assert.equal(errors, 0, name);
  }
});
