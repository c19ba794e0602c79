import assert from "node:assert/strict";
import type { ClaudeStreamEvent } from "../../../lib/claude/events.ts";
import { peekStream } from "../../../lib/accounts/stream_peek.ts";

const start = { type: "message_start" } as unknown as ClaudeStreamEvent;
const block = { type: "content_block_start", index: 0 } as unknown as ClaudeStreamEvent;
const delta = { type: "content_block_delta", index: 0 } as unknown as ClaudeStreamEvent;
const stop = { type: "message_stop" } as unknown as ClaudeStreamEvent;

async function all(stream: ReadableStream<ClaudeStreamEvent>): Promise<string[]> {
  const out: string[] = [];
  for await (const event of stream) out.push(event.type);
  return out;
}

Deno.test("peek: the head ends at the first committing event and the rest is the stream itself", async () => {
  const stream = ReadableStream.from([start, block, delta, stop]);
  const { head, rest } = await peekStream(stream, 10_000);
  assert.deepEqual(head.map((e) => e.type), ["message_start", "content_block_start"]);
  assert.equal(rest, stream, "no wrapper in the path of the later events");
  assert.deepEqual(await all(rest), ["content_block_delta", "message_stop"]);
});

Deno.test("peek: when the commit timer fires with a read outstanding, that read's event comes first", async () => {
  let release!: () => void;
  const later = new Promise<void>((resolve) => release = resolve);
  let pulls = 0;
  const stream = new ReadableStream<ClaudeStreamEvent>({
    async pull(controller) {
      pulls++;
      if (pulls === 1) return controller.enqueue(start);
      if (pulls === 2) {
        await later; // still outstanding when the timer fires
        return controller.enqueue(delta);
      }
      controller.enqueue(stop);
      controller.close();
    },
  }, { highWaterMark: 0 });
  const { head, rest } = await peekStream(stream, 20);
  assert.deepEqual(head.map((e) => e.type), ["message_start"]);
  assert.notEqual(rest, stream);
  release();
  assert.deepEqual(await all(rest), ["content_block_delta", "message_stop"]);
});

Deno.test("peek: a stream that fails in its head throws, and cancelling the rest cancels the source", async () => {
  const failing = new ReadableStream<ClaudeStreamEvent>({
    pull(controller) {
      controller.error(new Error("reset"));
    },
  });
  await assert.rejects(peekStream(failing, 10_000), /reset/);
  let cancelled: unknown = null;
  const source = new ReadableStream<ClaudeStreamEvent>({
    start(controller) {
      controller.enqueue(block);
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const { rest } = await peekStream(source, 10_000);
  await rest.cancel("client gone");
  assert.equal(cancelled, "client gone");
});
