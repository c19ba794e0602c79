/**
 * `UsageSplitStage`: puts the request's input split (plain input, cache read, cache creation) into the
 * `message_start` and `message_delta` usage of a stream whose upstream reports no cache numbers.
 *
 * The split was computed once before the upstream call (the prompt-cache simulation, or the whole input as
 * plain input when nothing is cached), so this stage only copies numbers: nothing is read or written per
 * event. When the final `message_delta` carries the upstream's own input count (it differs from the estimate
 * the channel was given), that count is the truth: the split is scaled onto it, so `message_delta`, the
 * non-streaming message and the usage record carry the upstream's figure, and `observed` tells the caller
 * (calibration, the record's source).
 */
import type { ClaudeStreamEvent, Usage } from "../claude/events.ts";
import type { CacheUsage } from "./prompt_cache_simulator.ts";

/** What the stage saw, for the usage record. */
export interface UsageObservation {
  /** The upstream's own input total, when it reported one. */
  upstreamInput: number | null;
}

/** The split scaled to another total; the three parts still add up exactly. */
export function scaleSplit(split: CacheUsage, total: number): CacheUsage {
  const from = split.input_tokens + split.cache_read_input_tokens + split.cache_creation_input_tokens;
  if (from === total || from === 0) {
    return from === 0 ? { ...split, input_tokens: total } : split;
  }
  const f = total / from;
  const read = Math.round(split.cache_read_input_tokens * f);
  const oneHour = Math.round(split.cache_creation.ephemeral_1h_input_tokens * f);
  const fiveMin = Math.round(split.cache_creation.ephemeral_5m_input_tokens * f);
  const creation = Math.min(oneHour + fiveMin, total - read);
  return {
    input_tokens: total - read - creation,
    cache_read_input_tokens: read,
    cache_creation_input_tokens: creation,
    cache_creation: {
      ephemeral_5m_input_tokens: creation - Math.min(oneHour, creation),
      ephemeral_1h_input_tokens: Math.min(oneHour, creation),
    },
  };
}

export class UsageSplitStage extends TransformStream<ClaudeStreamEvent, ClaudeStreamEvent> {
  /**
   * @param split the input split for `message_start`, adding up to `estimate`
   * @param estimate the input total the channel was given (what it echoes when the upstream reports nothing)
   */
  constructor(split: CacheUsage, estimate: number, observed: UsageObservation) {
    super(UsageSplitStage.transformer(split, estimate, observed));
  }

  /** The stage as a transformer, to run in a `StageChain`. */
  static transformer(
    split: CacheUsage,
    estimate: number,
    observed: UsageObservation,
  ): Transformer<ClaudeStreamEvent, ClaudeStreamEvent> {
    return {
      transform(event, controller) {
        if (event.type === "message_start") {
          const usage: Usage = { ...event.message.usage, ...split };
          controller.enqueue({ ...event, message: { ...event.message, usage } });
          return;
        }
        if (event.type === "message_delta") {
          const u = event.usage;
          const reported = u.input_tokens + (u.cache_read_input_tokens ?? 0) +
            (u.cache_creation_input_tokens ?? 0);
          let numbers = split;
          if (u.input_tokens > 0 && reported !== estimate) {
            observed.upstreamInput = reported;
            numbers = scaleSplit(split, reported);
          }
          controller.enqueue({ ...event, usage: { ...u, ...numbers } });
          return;
        }
        controller.enqueue(event);
      },
    };
  }
}
