/**
 * The HTTP edge of a streamed answer: Claude events -> SSE bytes, with keep-alive pings and honest failure.
 *
 * Sends a `ping` whenever the upstream is silent for `pingIntervalMs` (long thinking), so clients and
 * proxies do not time out. If the event stream errors after the response started, writes exactly one
 * `event: error` with a Claude error body and ends; if it ends without `message_stop`, that is an error too
 * (`claude_clients.md`: never a made-up `end_turn`, never a silent stop). Cancelling the body (client gone)
 * cancels the event stream and so the upstream request.
 */
import { toApiError } from "../errors.ts";
import type { ClaudeStreamEvent } from "./events.ts";
import { ClaudeSseEncoder, type SseEvent } from "./sse_encoder.ts";

export interface SseBodyOptions {
  pingIntervalMs: number;
  /** Called once with the error that ended the stream early (for logging). */
  onError?: (error: unknown) => void;
}

export function sseBody(
  events: ReadableStream<ClaudeStreamEvent>,
  options: SseBodyOptions,
): ReadableStream<Uint8Array> {
  const reader = events.getReader();
  const encoder = new TextEncoder();
  let pending: Promise<ReadableStreamReadResult<ClaudeStreamEvent>> | null = null;
  let finished = false;
  let sawStop = false;
  const frame = (event: SseEvent) => encoder.encode(ClaudeSseEncoder.frame(event));
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (finished) return;
      pending ??= reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<"ping">((resolve) => {
        timer = setTimeout(() => resolve("ping"), options.pingIntervalMs);
      });
      try {
        const result = await Promise.race([pending, tick]);
        if (result === "ping") {
          controller.enqueue(frame({ type: "ping" }));
          return;
        }
        pending = null;
        if (result.done) {
          finished = true;
          if (!sawStop) {
            const error = new Error("upstream stream ended before message_stop");
            options.onError?.(error);
            controller.enqueue(
              frame({ type: "error", error: { type: "api_error", message: error.message } }),
            );
          }
          controller.close();
          return;
        }
        if (result.value.type === "message_stop") sawStop = true;
        controller.enqueue(frame(result.value));
      } catch (error) {
        finished = true;
        options.onError?.(error);
        controller.enqueue(frame(toApiError(error).toBody()));
        controller.close();
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      finished = true;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
