/**
 * `openAISseBody`: the production chain of a streamed OpenAI-format answer, from the gateway's Claude events
 * to the HTTP body.
 *
 *   events -> StreamIntegrity -> ClaudeToOpenAIChunks -> sseWriter (batched writes)
 *
 * `[DONE]` is written only after a complete answer (by `ClaudeToOpenAIChunks` on `message_stop`). If the
 * stream fails after it began, or ends without `message_stop`, `StreamIntegrity` ends it with one Claude
 * `error` event, written as one `data: {"error":...}` line with no `[DONE]`, so the `openai` SDK raises
 * instead of returning a cut answer. No keep-alives: this route never had them, and a comment line would
 * be new behaviour for its clients. Cancelling the body cancels the event stream and the upstream.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import { StreamIntegrity } from "../claude/stream_integrity.ts";
import { sseWriter } from "../sse_writer.ts";
import { ClaudeToOpenAIChunks, type ClaudeToOpenAIChunksOptions } from "./claude_to_openai_chunks.ts";

export function openAISseBody(
  events: ReadableStream<ClaudeStreamEvent>,
  options: ClaudeToOpenAIChunksOptions & { onError?: (error: unknown) => void },
): ReadableStream<Uint8Array> {
  // Integrity and conversion run as one chain: one pipe per event.
  return sseWriter(
    StreamIntegrity.guardThrough(
      events,
      { onError: options.onError },
      ClaudeToOpenAIChunks.transformer(options),
    ),
  );
}
