/**
 * Reads the head of an event stream before the server commits to a 200.
 *
 * Upstreams often report trouble in their first frames (an exception frame, an error chunk). Reading until
 * the first content block, or until `commitAfterMs` passes, lets those failures reach the pool while another
 * account can still take the request. It returns the events it read (`head`, for the caller to handle first,
 * e.g. as a `StageChain`'s first chunks) and the stream of the rest, keeping backpressure and cancellation
 * (cancelling the rest cancels the upstream).
 *
 * The rest is the stream itself when no read is outstanding (the usual case: the head ended at a committing
 * event), so no wrapper sits in the path of every later event. When the commit timer fired, one read is still
 * outstanding and may already hold the next event; releasing the reader would reject that read and could
 * drop the event, so then the rest is a small pull wrapper that starts with that read.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";

const COMMITTING = new Set<ClaudeStreamEvent["type"]>([
  "content_block_start",
  "message_delta",
  "message_stop",
]);

/** What was read ahead, and the stream of what follows it. */
export interface PeekedStream {
  head: ClaudeStreamEvent[];
  rest: ReadableStream<ClaudeStreamEvent>;
}

export async function peekStream(
  stream: ReadableStream<ClaudeStreamEvent>,
  commitAfterMs: number,
): Promise<PeekedStream> {
  const reader = stream.getReader();
  const head: ClaudeStreamEvent[] = [];
  let pending: Promise<ReadableStreamReadResult<ClaudeStreamEvent>> | null = null;
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
      if (result.done) break;
      head.push(result.value);
      if (COMMITTING.has(result.value.type)) break;
    }
  } catch (error) {
    reader.releaseLock();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (pending === null) {
    // Nothing is in flight: the stream itself is the rest, with no wrapper in the path of every event.
    reader.releaseLock();
    return { head, rest: stream };
  }
  const outstanding = pending;
  let first = true;
  const rest = new ReadableStream<ClaudeStreamEvent>({
    async pull(controller) {
      const result = await (first ? outstanding : reader.read());
      first = false;
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { head, rest };
}
