/**
 * `ClaudeSseEncoder`: Claude stream events -> SSE bytes, one serialization per event.
 *
 * Every event gets an `event:` line equal to its `type`: the official TypeScript SDK silently skips events
 * without one, so a missing line loses text without any error. Also used for the single `error` event the
 * edge writes after a failure.
 */
import type { ClaudeErrorBody } from "../errors.ts";
import type { ClaudeStreamEvent } from "./events.ts";

export type SseEvent = ClaudeStreamEvent | ClaudeErrorBody;

export class ClaudeSseEncoder extends TransformStream<SseEvent, Uint8Array> {
  constructor() {
    super(ClaudeSseEncoder.transformer());
  }

  /** The encoder as a transformer, to run in a `StageChain`. */
  static transformer(): Transformer<SseEvent, Uint8Array> {
    const encoder = new TextEncoder();
    return {
      transform(event, controller) {
        controller.enqueue(encoder.encode(ClaudeSseEncoder.frame(event)));
      },
    };
  }

  /** The SSE text of one event. */
  static frame(event: SseEvent): string {
    return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  }
}
