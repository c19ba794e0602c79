import assert from "node:assert/strict";
import { sseBody } from "../../../lib/claude/sse_body.ts";
import { type ClaudeStreamEvent, messageStart } from "../../../lib/claude/events.ts";
import { UpstreamError } from "../../../lib/errors.ts";

const complete: ClaudeStreamEvent[] = [
  messageStart("msg_1", "m", { input_tokens: 3, output_tokens: 0 }),
  { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "hi" } },
  { type: "content_block_stop", index: 0 },
  {
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { input_tokens: 0, output_tokens: 1 },
  },
  { type: "message_stop" },
];

function parse(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text.trim().split("\n\n").map((frame) => {
    const [eventLine, dataLine] = frame.split("\n");
    return { event: eventLine!.slice(7), data: JSON.parse(dataLine!.slice(6)) };
  });
}

Deno.test("sseBody writes every event with an event line equal to its type", async () => {
  const text = await new Response(sseBody(ReadableStream.from(complete), { pingIntervalMs: 10_000 })).text();
  const frames = parse(text);
  assert.deepEqual(frames.map((f) => f.event), complete.map((e) => e.type));
  for (const f of frames) assert.equal(f.event, f.data.type);
});

Deno.test("sseBody turns a failure after the first byte into one error event and ends", async () => {
  let errors = 0;
  let pulls = 0;
  const failing = new ReadableStream<ClaudeStreamEvent>({
    pull(controller) {
      if (pulls < 2) controller.enqueue(complete[pulls++]!);
      else {controller.error(
          new UpstreamError("throttled", "slow down", { provider: "x", retryAfterMs: 1000 }),
        );}
    },
  }, { highWaterMark: 0 });
  const frames = parse(
    await new Response(sseBody(failing, { pingIntervalMs: 10_000, onError: () => errors++ })).text(),
  );
  assert.deepEqual(frames.map((f) => f.event), ["message_start", "content_block_start", "error"]);
  assert.deepEqual(frames.at(-1)!.data, {
    type: "error",
    error: { type: "rate_limit_error", message: "slow down" },
  });
  assert.equal(errors, 1);
});

Deno.test("sseBody reports a stream that ends without message_stop as an error, not a complete answer", async () => {
  const cut = ReadableStream.from(complete.slice(0, 3));
  const frames = parse(await new Response(sseBody(cut, { pingIntervalMs: 10_000 })).text());
  assert.equal(frames.at(-1)!.event, "error");
  assert.ok(!frames.some((f) => f.event === "message_stop"));
});

Deno.test("sseBody sends pings while the upstream is silent", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => release = r);
  const slow = new ReadableStream<ClaudeStreamEvent>({
    async start(controller) {
      controller.enqueue(complete[0]!);
      await gate;
      for (const e of complete.slice(1)) controller.enqueue(e);
      controller.close();
    },
  });
  const reader = sseBody(slow, { pingIntervalMs: 5 }).getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (let i = 0; i < 4; i++) text += decoder.decode((await reader.read()).value);
  release();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    text += decoder.decode(r.value);
  }
  const events = parse(text).map((f) => f.event);
  assert.equal(events[0], "message_start");
  assert.ok(events.filter((e) => e === "ping").length >= 3, events.join(","));
  assert.equal(events.at(-1), "message_stop");
});

Deno.test("cancelling the SSE body cancels the event stream (and so the upstream)", async () => {
  let cancelled: unknown = null;
  const source = new ReadableStream<ClaudeStreamEvent>({
    start(controller) {
      controller.enqueue(complete[0]!);
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  const reader = sseBody(source, { pingIntervalMs: 10_000 }).getReader();
  await reader.read();
  await reader.cancel("client went away");
  assert.equal(cancelled, "client went away");
});
