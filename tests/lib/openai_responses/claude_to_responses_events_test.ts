import assert from "node:assert/strict";
import { type ClaudeStreamEvent, messageStart } from "../../../lib/claude/events.ts";
import { ApiError, ProtocolError, UpstreamError } from "../../../lib/errors.ts";
import {
  ClaudeToResponsesEvents,
  type ResponsesEvent,
} from "../../../lib/openai_responses/claude_to_responses_events.ts";
import { collectResponse } from "../../../lib/openai_responses/responses_collector.ts";
import { responsesSseBody } from "../../../lib/openai_responses/responses_sse_body.ts";
import { responsesRequestToClaude } from "../../../lib/openai_responses/responses_request_to_claude.ts";
import { EVENTS } from "../../_helpers/openai_client.ts";
import { parseSse } from "../../_helpers/e2e_harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function stage(includeEncryptedReasoning = false): ClaudeToResponsesEvents {
  return new ClaudeToResponsesEvents({
    id: "resp_abc",
    model: "claude-sonnet-4-6",
    createdAt: 1_700_000_000,
    echo: responsesRequestToClaude({ model: "m", input: "hi", max_output_tokens: 100 }).echo,
    includeEncryptedReasoning,
  });
}

/** A stream of `events` that fails with `error` after them (or ends cleanly without one). */
function source(events: ClaudeStreamEvent[], error?: unknown): ReadableStream<ClaudeStreamEvent> {
  let i = 0;
  // Pulled one at a time: erroring a stream discards what is still queued in it.
  return new ReadableStream({
    pull(controller) {
      if (i < events.length) controller.enqueue(events[i++]!);
      else if (error) controller.error(error);
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

async function run(events: ClaudeStreamEvent[], s = stage()): Promise<ResponsesEvent[]> {
  return await Array.fromAsync(source(events).pipeThrough(s));
}

async function sse(events: ClaudeStreamEvent[], error?: unknown): Promise<Json[]> {
  const body = responsesSseBody(source(events, error), stage(), { pingIntervalMs: 60_000 });
  const frames = parseSse(await new Response(body).text());
  for (const frame of frames) assert.equal(frame.event, frame.data.type);
  return frames.map((f) => f.data);
}

const TEXT: ClaudeStreamEvent[] = [
  messageStart("msg_1", "claude", { input_tokens: 10, output_tokens: 1 }),
  { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "lo" } },
  { type: "content_block_stop", index: 0 },
];

function end(stopReason: "end_turn" | "max_tokens", outputTokens = 5): ClaudeStreamEvent[] {
  return [
    {
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { input_tokens: 0, output_tokens: outputTokens },
    },
    { type: "message_stop" },
  ];
}

Deno.test("text: the Responses event sequence, numbered, ending in response.completed with usage", async () => {
  const out = await run([...TEXT, ...end("end_turn")]);
  assert.deepEqual(out.map((e) => e.type), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  assert.deepEqual(out.map((e) => e.sequence_number), out.map((_, i) => i));
  const created = out[0]!.response as Json;
  assert.equal(created.status, "in_progress");
  assert.equal(created.id, "resp_abc");
  assert.deepEqual(created.output, []);
  assert.equal(created.max_output_tokens, 100);
  assert.equal(created.store, false);
  assert.equal(out[6]!.text, "Hello");
  const done = out.at(-1)!.response as Json;
  assert.equal(done.status, "completed");
  assert.equal(done.model, "claude-sonnet-4-6");
  assert.deepEqual(done.output, [{
    id: "msg_abc_0",
    type: "message",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: "Hello", annotations: [], logprobs: [] }],
  }]);
  assert.deepEqual(done.usage, {
    input_tokens: 10,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 5,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 15,
  });
});

Deno.test("thinking and tool calls: reasoning summary events, function-call argument deltas, cached usage", async () => {
  const out = await run(EVENTS, stage(true));
  const types = out.map((e) => e.type);
  assert.deepEqual(types.slice(2, 8), [
    "response.output_item.added",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.output_item.done",
  ]);
  const argDeltas = out.filter((e) => e.type === "response.function_call_arguments.delta");
  assert.deepEqual(argDeltas.map((e) => e.delta), ['{"path":', '"a.txt"}', '{"path":"b.txt"}']);
  const argDone = out.filter((e) => e.type === "response.function_call_arguments.done");
  assert.deepEqual(argDone.map((e) => [e.name, e.arguments]), [
    ["Read", '{"path":"a.txt"}'],
    ["Read", '{"path":"b.txt"}'],
  ]);
  const done = out.at(-1)!;
  assert.equal(done.type, "response.completed");
  const response = done.response as Json;
  assert.deepEqual(response.output.map((i: Json) => i.type), [
    "reasoning",
    "message",
    "function_call",
    "function_call",
  ]);
  assert.deepEqual(response.output[0].summary, [{ type: "summary_text", text: "Need the file." }]);
  assert.equal(response.output[0].encrypted_content, "sig");
  assert.deepEqual(
    response.output.slice(2).map((i: Json) => [i.call_id, i.name, i.status, i.id]),
    [["toolu_a", "Read", "completed", "fc_abc_2"], ["toolu_b", "Read", "completed", "fc_abc_3"]],
  );
  assert.deepEqual(response.usage.input_tokens_details, { cached_tokens: 900 });
  assert.equal(response.usage.input_tokens, 1000);
  assert.equal(response.usage.output_tokens, 42);
  // Without `include`, the signature is not handed out.
  const plain = (await run(EVENTS)).at(-1)!.response as Json;
  assert.equal(plain.output[0].encrypted_content, undefined);
});

Deno.test("max_tokens ends with response.incomplete (max_output_tokens), never completed", async () => {
  const out = await run([...TEXT, ...end("max_tokens")]);
  assert.equal(out.at(-1)!.type, "response.incomplete");
  const response = out.at(-1)!.response as Json;
  assert.equal(response.status, "incomplete");
  assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(response.usage.output_tokens, 5);
  assert.ok(!out.some((e) => e.type === "response.completed"));
});

Deno.test("SSE: a failure mid-stream ends with error and response.failed, never completed", async () => {
  const events = TEXT.slice(0, 3);
  const frames = await sse(events, new UpstreamError("throttled", "Rate exceeded", { provider: "amazonq" }));
  const types = frames.map((f) => f.type);
  assert.deepEqual(types.slice(-2), ["error", "response.failed"]);
  assert.ok(!types.includes("response.completed"));
  assert.deepEqual(frames.map((f) => f.sequence_number), frames.map((_, i) => i));
  const failed = frames.at(-1).response;
  assert.equal(failed.status, "failed");
  assert.equal(failed.error.code, "rate_limit_exceeded");
  // The partial message is there, marked incomplete.
  assert.equal(failed.output[0].status, "incomplete");
  assert.deepEqual(failed.output[0].content, [{
    type: "output_text",
    text: "Hel",
    annotations: [],
    logprobs: [],
  }]);
  assert.equal(frames.at(-2).code, "rate_limit_exceeded");
});

Deno.test("SSE: a stream that ends before message_stop is a failure too", async () => {
  const frames = await sse([...TEXT, end("end_turn")[0]!]);
  assert.deepEqual(frames.map((f) => f.type).slice(-2), ["error", "response.failed"]);
  assert.match(frames.at(-1).response.error.message, /ended before the answer was complete/);
  const complete = await sse([...TEXT, ...end("end_turn")]);
  assert.equal(complete.at(-1).type, "response.completed");
});

Deno.test("collector: the final response object, or a rejection for a failed or cut stream", async () => {
  const response = await collectResponse(source([...TEXT, ...end("end_turn")]), stage());
  assert.equal(response.status, "completed");
  assert.equal((response.output as Json[])[0].content[0].text, "Hello");
  const incomplete = await collectResponse(source([...TEXT, ...end("max_tokens")]), stage());
  assert.equal(incomplete.status, "incomplete");
  await assert.rejects(
    collectResponse(source(TEXT, new ApiError("api_error", "boom")), stage()),
    (e) => e instanceof ApiError && e.message === "boom",
  );
  await assert.rejects(collectResponse(source(TEXT), stage()), ProtocolError);
});
