/**
 * `sseWriter`: the last step of every streamed answer, between the encoded SSE bytes and the HTTP response
 * body. It does two things a `TransformStream` stage cannot do well:
 *
 * - Batching. Chunks that are already waiting when the client asks for more are written as one chunk: one
 *   upstream network read often yields dozens of events, and one socket write per event costs more than
 *   encoding them. Only a reader can tell "already queued" from "not yet produced" (a stage sees one chunk
 *   at a time), so this is a small pull wrapper around a reader.
 * - Keep-alives. While nothing was written for `pingIntervalMs` (long thinking), `ping` is written so
 *   clients and proxies do not time out. One interval timer per stream, checked at half the interval.
 *
 * It keeps backpressure (it reads only when the response pulls, `highWaterMark: 0`) and cancellation
 * (cancelling the body, as a client that disconnects does, cancels the source and so the upstream).
 */

export interface SseWriterOptions {
  /** Silence after which `ping` is written; no pings when absent. */
  pingIntervalMs?: number;
  /** The keep-alive bytes (an SSE event or comment in the stream's own format). */
  ping?: Uint8Array;
}

/** Most chunks gathered into one write. */
const MAX_BATCH = 256;
const NOT_READY = Symbol("not ready");
const notReady = Promise.resolve(NOT_READY);

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

export function sseWriter(
  source: ReadableStream<Uint8Array>,
  options: SseWriterOptions = {},
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  let finished = false;
  let lastWrite = performance.now();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const finish = () => {
    finished = true;
    clearInterval(ticker);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const { pingIntervalMs, ping } = options;
      if (pingIntervalMs === undefined || !ping) return;
      ticker = setInterval(() => {
        if (finished || performance.now() - lastWrite < pingIntervalMs) return;
        lastWrite = performance.now();
        controller.enqueue(ping);
      }, Math.max(1, Math.floor(pingIntervalMs / 2)));
    },
    async pull(controller) {
      if (finished) return;
      const chunks: Uint8Array[] = [];
      let length = 0;
      let ended = false;
      try {
        let result = await (pending ?? reader.read());
        pending = null;
        for (let n = 0;; n++) {
          if (result.done) {
            ended = true;
            break;
          }
          chunks.push(result.value);
          length += result.value.length;
          if (n >= MAX_BATCH) break;
          // Take the next chunk only if it is already queued; otherwise keep the read for the next pull.
          const next = reader.read();
          const ready = await Promise.race([next, notReady]);
          if (ready === NOT_READY) {
            pending = next;
            break;
          }
          result = ready;
        }
      } catch (error) {
        // The stages before this one end every stream with a proper event; an error here is a bug or a
        // cancellation, and the body can only end the way the transport allows.
        finish();
        if (length > 0) controller.enqueue(concat(chunks, length));
        controller.error(error);
        return;
      }
      if (length > 0) {
        lastWrite = performance.now();
        controller.enqueue(chunks.length === 1 ? chunks[0]! : concat(chunks, length));
      }
      if (ended) {
        finish();
        controller.close();
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
