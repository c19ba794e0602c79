/**
 * `UsageMeter`: a pass-through stage that watches usage and the stop reason and reports them once.
 *
 * Usage is recorded once per request, never per event (one row per request keeps the totals exact). `onFinish` runs exactly once: with
 * `completed: true` when `message_stop` went through, otherwise (upstream error, client cancel, a stream
 * that ended early) with `completed: false`.
 */
import { type ClaudeStreamEvent, mergeDeltaUsage, type StopReason, type Usage } from "./events.ts";

export interface UsageSummary {
  usage: Usage;
  stopReason: StopReason | null;
  completed: boolean;
  /** Why the stream did not complete (an upstream error, a client cancel), when known. */
  error?: unknown;
}

export class UsageMeter extends TransformStream<ClaudeStreamEvent, ClaudeStreamEvent> {
  constructor(onFinish: (summary: UsageSummary) => void) {
    super(UsageMeter.transformer(onFinish));
  }

  /** The meter as a transformer, to run in a `StageChain`. */
  static transformer(
    onFinish: (summary: UsageSummary) => void,
  ): Transformer<ClaudeStreamEvent, ClaudeStreamEvent> {
    let usage: Usage = { input_tokens: 0, output_tokens: 0 };
    let stopReason: StopReason | null = null;
    let completed = false;
    let reported = false;
    const report = (error?: unknown) => {
      if (reported) return;
      reported = true;
      onFinish(
        error === undefined ? { usage, stopReason, completed } : { usage, stopReason, completed, error },
      );
    };
    return {
      transform(event, controller) {
        if (event.type === "message_start") {
          usage = { ...event.message.usage };
        } else if (event.type === "message_delta") {
          stopReason = event.delta.stop_reason;
          usage = mergeDeltaUsage(usage, event.usage);
        } else if (event.type === "message_stop") {
          completed = true;
        }
        controller.enqueue(event);
      },
      flush: () => report(),
      cancel: (reason) => report(reason ?? new Error("stream cancelled")),
    };
  }
}
