/**
 * The HTTP edge of a streamed answer: Claude events -> SSE bytes, with keep-alive pings and honest failure.
 *
 * Sends a `ping` whenever nothing was written for `pingIntervalMs` (long thinking), so clients and proxies do
 * not time out. If the event stream errors after the response started, writes exactly one `event: error`
 * with a Claude error body and ends; if it ends without `message_stop`, that is an error too
 * (`claude_clients.md`: never a made-up `end_turn`, never a silent stop). Cancelling the body (client gone)
 * cancels the event stream and so the upstream request.
 *
 * Events that are already waiting when the client asks for more are written as one chunk: one upstream
 * network read often yields dozens of events, and one write per event costs more than encoding them.
 */
import { toApiError } from "../errors.ts";
import type { ClaudeStreamEvent } from "./events.ts";
import { ClaudeSseEncoder, type SseEvent } from "./sse_encoder.ts";

export interface SseBodyOptions {
  pingIntervalMs: number;
  /** Called once with the error that ended the stream early (for logging). */
  onError?: (error: unknown) => void;
}

/** Most events gathered into one write. */
const MAX_BATCH = 256;
const NOT_READY = Symbol("not ready");

export function sseBody(
  events: ReadableStream<ClaudeStreamEvent>,
  options: SseBodyOptions,
): ReadableStream<Uint8Array> {
  const reader = events.getReader();
  const encoder = new TextEncoder();
  const notReady = Promise.resolve(NOT_READY);
  let pending: Promise<ReadableStreamReadResult<ClaudeStreamEvent>> | null = null;
  let finished = false;
  let sawStop = false;
  let lastWrite = performance.now();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const frame = (event: SseEvent) => ClaudeSseEncoder.frame(event);
  const finish = () => {
    finished = true;
    clearInterval(ticker);
  };
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown, text: string) => {
    finish();
    options.onError?.(error);
    controller.enqueue(encoder.encode(text + frame(toApiError(error).toBody())));
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      ticker = setInterval(() => {
        if (finished || performance.now() - lastWrite < options.pingIntervalMs) return;
        lastWrite = performance.now();
        controller.enqueue(encoder.encode(frame({ type: "ping" })));
      }, Math.max(1, Math.floor(options.pingIntervalMs / 2)));
    },
    async pull(controller) {
      if (finished) return;
      let text = "";
      try {
        let result = await (pending ?? reader.read());
        pending = null;
        for (let n = 0;; n++) {
          if (result.done) {
            if (!sawStop) {
              fail(controller, new Error("upstream stream ended before message_stop"), text);
              return;
            }
            finish();
            if (text) controller.enqueue(encoder.encode(text));
            controller.close();
            return;
          }
          if (result.value.type === "message_stop") sawStop = true;
          text += frame(result.value);
          if (n >= MAX_BATCH) break;
          // Take the next event only if it is already queued; otherwise keep the read for the next pull.
          const next = reader.read();
          const ready = await Promise.race([next, notReady]);
          if (ready === NOT_READY) {
            pending = next;
            break;
          }
          result = ready;
        }
      } catch (error) {
        fail(controller, error, text);
        return;
      }
      lastWrite = performance.now();
      controller.enqueue(encoder.encode(text));
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
