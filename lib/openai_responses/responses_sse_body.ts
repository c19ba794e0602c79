/**
 * `responsesSseBody`: the production chain of a streamed Responses API answer, from the gateway's Claude
 * events to the HTTP body.
 *
 *   events -> StreamIntegrity -> ClaudeToResponsesEvents -> SSE framing -> sseWriter (batched, keep-alives)
 *
 * Honest endings: if the event stream fails after the response began, or ends before `message_stop`,
 * `StreamIntegrity` ends it with one Claude `error` event, which the stage turns into its `error` and
 * `response.failed` events, so neither the `openai` SDK nor Codex takes a cut answer for a complete one.
 * Each event is framed as `event: <type>` and `data: <json>`. While nothing was written for
 * `pingIntervalMs` (long thinking), an SSE comment keeps clients and proxies from timing out; SSE readers
 * skip comments. Cancelling the body (client gone) cancels the event stream and so the upstream request.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import { StreamIntegrity } from "../claude/stream_integrity.ts";
import { sseWriter } from "../sse_writer.ts";
import type { ClaudeToResponsesEvents, ResponsesEvent } from "./claude_to_responses_events.ts";

export interface ResponsesSseOptions {
  pingIntervalMs: number;
  /** Called once with the error that ended the stream early (for logging). */
  onError?: (error: unknown) => void;
}

const KEEP_ALIVE = new TextEncoder().encode(": keep-alive\n\n");

/** Responses events -> SSE bytes, one serialization per event. */
class ResponsesSseEncoder extends TransformStream<ResponsesEvent, Uint8Array> {
  constructor() {
    const encoder = new TextEncoder();
    super({
      transform(event, controller) {
        controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
      },
    });
  }
}

export function responsesSseBody(
  events: ReadableStream<ClaudeStreamEvent>,
  stage: ClaudeToResponsesEvents,
  options: ResponsesSseOptions,
): ReadableStream<Uint8Array> {
  const guarded = new StreamIntegrity({ onError: options.onError }).guard(events);
  return sseWriter(guarded.pipeThrough(stage).pipeThrough(new ResponsesSseEncoder()), {
    pingIntervalMs: options.pingIntervalMs,
    ping: KEEP_ALIVE,
  });
}
