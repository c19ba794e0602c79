/**
 * The HTTP edge of a streamed Responses API answer: Claude events -> `ClaudeToResponsesEvents` -> SSE bytes
 * (`event: <type>` and `data: <json>` per event).
 *
 * Honest endings: if the event stream fails after the response began, or ends before `message_stop`, the
 * stage's `fail` events (`error`, then `response.failed`) are written and the body ends, so neither the
 * `openai` SDK nor Codex takes a cut answer for a complete one. While nothing was written for
 * `pingIntervalMs` (long thinking), an SSE comment keeps clients and proxies from timing out; SSE readers
 * skip comments. Cancelling the body (client gone) cancels the event stream and so the upstream request.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import { ApiError, toApiError } from "../errors.ts";
import type { ClaudeToResponsesEvents, ResponsesEvent } from "./claude_to_responses_events.ts";

export interface ResponsesSseOptions {
  pingIntervalMs: number;
  /** Called once with the error that ended the stream early (for logging). */
  onError?: (error: unknown) => void;
}

function frame(event: ResponsesEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function responsesSseBody(
  events: ReadableStream<ClaudeStreamEvent>,
  stage: ClaudeToResponsesEvents,
  options: ResponsesSseOptions,
): ReadableStream<Uint8Array> {
  const reader = events.pipeThrough(stage).getReader();
  const encoder = new TextEncoder();
  let finished = false;
  let lastWrite = performance.now();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const finish = () => {
    finished = true;
    clearInterval(ticker);
  };
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown) => {
    finish();
    options.onError?.(error);
    controller.enqueue(encoder.encode(stage.fail(toApiError(error)).map(frame).join("")));
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      ticker = setInterval(() => {
        if (finished || performance.now() - lastWrite < options.pingIntervalMs) return;
        lastWrite = performance.now();
        controller.enqueue(encoder.encode(": keep-alive\n\n"));
      }, Math.max(1, Math.floor(options.pingIntervalMs / 2)));
    },
    async pull(controller) {
      if (finished) return;
      try {
        const result = await reader.read();
        if (result.done) {
          if (!stage.finished) {
            fail(
              controller,
              new ApiError("api_error", "upstream stream ended before the answer was complete", {
                status: 502,
              }),
            );
            return;
          }
          finish();
          controller.close();
          return;
        }
        lastWrite = performance.now();
        controller.enqueue(encoder.encode(frame(result.value)));
      } catch (error) {
        fail(controller, error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
