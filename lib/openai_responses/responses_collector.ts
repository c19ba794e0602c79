/**
 * `collectResponse`: runs Claude events through `ClaudeToResponsesEvents` and returns the final Responses
 * `response` object, for `stream:false` on `POST /v1/responses`.
 *
 * Streaming and non-streaming answers come from the same stage, so they agree. An upstream failure rejects
 * (the route answers with a proper error status), and a stream that ends before `message_stop` is a
 * `ProtocolError`, never a partial answer passed off as complete. `max_tokens` gives a 200 with
 * `status: "incomplete"`, as OpenAI answers it.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import { ProtocolError } from "../errors.ts";
import type { ClaudeToResponsesEvents } from "./claude_to_responses_events.ts";

export async function collectResponse(
  events: ReadableStream<ClaudeStreamEvent>,
  stage: ClaudeToResponsesEvents,
): Promise<Record<string, unknown>> {
  let final: Record<string, unknown> | null = null;
  for await (const event of events.pipeThrough(stage)) {
    if (event.type === "response.completed" || event.type === "response.incomplete") {
      final = event.response as Record<string, unknown>;
    }
  }
  if (!final) throw new ProtocolError("upstream stream ended before message_stop");
  return final;
}
