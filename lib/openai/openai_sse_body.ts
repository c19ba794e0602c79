/**
 * The HTTP edge of a streamed OpenAI-format answer: Claude events -> `chat.completion.chunk` lines.
 *
 * `[DONE]` is written only after a complete answer (by `ClaudeToOpenAIChunks` on `message_stop`). If the
 * stream fails after it began, or ends without `message_stop`, one `data: {"error":...}` line is written
 * and the body ends without `[DONE]`, so the `openai` SDK raises instead of returning a cut answer.
 */
import type { ClaudeStreamEvent } from "../claude/events.ts";
import { ApiError, toApiError } from "../errors.ts";
import { ClaudeToOpenAIChunks, type ClaudeToOpenAIChunksOptions } from "./claude_to_openai_chunks.ts";
import { openAIStreamErrorLine } from "./openai_stream_error.ts";

export function openAISseBody(
  events: ReadableStream<ClaudeStreamEvent>,
  options: ClaudeToOpenAIChunksOptions & { onError?: (error: unknown) => void },
): ReadableStream<Uint8Array> {
  let completed = false;
  const watched = events.pipeThrough(
    new TransformStream<ClaudeStreamEvent, ClaudeStreamEvent>({
      transform(event, controller) {
        if (event.type === "message_stop") completed = true;
        controller.enqueue(event);
      },
    }),
  );
  const reader = watched.pipeThrough(new ClaudeToOpenAIChunks(options)).getReader();
  const encoder = new TextEncoder();
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (finished) return;
      try {
        const result = await reader.read();
        if (!result.done) {
          controller.enqueue(result.value);
          return;
        }
        finished = true;
        if (!completed) {
          const error = new ApiError("api_error", "upstream stream ended before the answer was complete", {
            status: 502,
          });
          options.onError?.(error);
          controller.enqueue(encoder.encode(openAIStreamErrorLine(error)));
        }
        controller.close();
      } catch (error) {
        finished = true;
        options.onError?.(error);
        controller.enqueue(encoder.encode(openAIStreamErrorLine(toApiError(error))));
        controller.close();
      }
    },
    cancel(reason) {
      finished = true;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
