/**
 * Reads the head of an event stream before the server commits to a 200.
 *
 * Upstreams often report trouble in their first frames (an exception frame, an error chunk). Reading until
 * the first content block, or until `commitAfterMs` passes, lets those failures reach the pool while another
 * account can still take the request. The returned stream replays what was read and continues with the rest,
 * keeping backpressure and cancellation (cancelling it cancels the upstream).
 *
 * It stays a small pull wrapper around the head's reader rather than a `pipeThrough` of the rest: when the
 * commit timer fires, one read is still outstanding, and it may already hold the next event. Releasing the
 * reader to pipe the stream would reject that read and could drop the event it carried, so the rest is read
 * through the same reader, starting with that outstanding read.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";

const COMMITTING = new Set<ClaudeStreamEvent["type"]>([
  "content_block_start",
  "message_delta",
  "message_stop",
]);

export async function peekStream(
  stream: ReadableStream<ClaudeStreamEvent>,
  commitAfterMs: number,
): Promise<ReadableStream<ClaudeStreamEvent>> {
  const reader = stream.getReader();
  const head: ClaudeStreamEvent[] = [];
  let pending: Promise<ReadableStreamReadResult<ClaudeStreamEvent>> | null = null;
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), commitAfterMs);
  });
  try {
    for (;;) {
      pending = reader.read();
      const result = await Promise.race([pending, timeout]);
      if (result === "timeout") break;
      pending = null;
      if (result.done) {
        done = true;
        break;
      }
      head.push(result.value);
      if (COMMITTING.has(result.value.type)) break;
    }
  } catch (error) {
    reader.releaseLock();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  let index = 0;
  return new ReadableStream<ClaudeStreamEvent>({
    async pull(controller) {
      if (index < head.length) {
        controller.enqueue(head[index++]!);
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const result = await (pending ?? reader.read());
      pending = null;
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
