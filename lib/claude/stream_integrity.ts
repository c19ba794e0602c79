/**
 * `StreamIntegrity`: the one place that decides how a streamed answer ends. Every outbound format (Claude
 * SSE, OpenAI chunks, Responses events) reads the Claude events through it and only maps its `error` event
 * to its own shape.
 *
 * Its output ends with a complete message (`message_start`, blocks, exactly one `message_delta`, then
 * `message_stop`) or with exactly one Claude `error` event, never both and never neither: a client must not
 * take a cut or failed answer for a complete one. An upstream failure (the source stream errors), an early
 * end (no `message_stop`) or an event out of order becomes that one `error` event, worded by `toApiError`
 * (so a cut connection reads "upstream broke off: ..." whichever channel served it), and nothing follows it.
 *
 * A failing source cannot be seen by a plain `pipeThrough`: the error would abort this stage and error its
 * output before the `error` event could be written. So `guard(source)` pipes with `preventAbort` and turns
 * the pipe's failure into the event. Cancelling the output (client gone) still cancels the source, and so
 * the upstream request. After `message_stop` the rest of the source is read and dropped rather than
 * cancelled, so the stages before this one (usage accounting) see the upstream's real end.
 * `guardThrough(source, next)` does the same with the next stage (an encoder) run in the same chain, one
 * pipe instead of two for every event of the answer.
 */
import { ApiError, ProtocolError, toApiError } from "../errors.ts";
import type { ClaudeErrorBody } from "../errors.ts";
import type { ClaudeStreamEvent } from "./events.ts";
import { StageChain, type SyncTransformer } from "../stage_chain.ts";

/** What the guarded stream carries: Claude events, at most one of them an `error` (the last). */
export type GuardedEvent = ClaudeStreamEvent | ClaudeErrorBody;

export interface StreamIntegrityOptions {
  /** Called once with the failure that ended the stream early (for logging). */
  onError?: (error: unknown) => void;
}

/** Where the message is: waiting for `message_start`, open, after its `message_delta`, or over. */
type Phase = "before" | "open" | "delta" | "stopped" | "failed";

/** The integrity transformer, and what turns a failure of its source into its end. */
function integrityStage(options: StreamIntegrityOptions): {
  transformer: SyncTransformer<ClaudeStreamEvent, GuardedEvent>;
  sourceFailed: (error: unknown) => void;
} {
  let phase: Phase = "before";
  let out!: TransformStreamDefaultController<GuardedEvent>;
  /** Writes the one `error` event; `end` closes the output now (and so cancels the source). */
  const fail = (error: unknown, end: boolean) => {
    phase = "failed";
    options.onError?.(error);
    try {
      out.enqueue(toApiError(error).toBody());
      if (end) out.terminate();
    } catch {
      // The output was cancelled meanwhile: nobody is left to tell.
    }
  };
  const violation = (what: string) =>
    fail(new ProtocolError(`the answer's events are out of order: ${what}`), true);
  const transformer: SyncTransformer<ClaudeStreamEvent, GuardedEvent> = {
    start(controller) {
      out = controller;
    },
    transform(event, controller) {
      switch (phase) {
        case "stopped":
        case "failed":
          return; // nothing follows the end of an answer or its error
        case "before":
          if (event.type === "message_start") phase = "open";
          else if (event.type !== "ping") return violation(`${event.type} before message_start`);
          break;
        case "open":
          if (event.type === "message_delta") phase = "delta";
          else if (event.type === "message_start") return violation("a second message_start");
          else if (event.type === "message_stop") return violation("message_stop without message_delta");
          break;
        case "delta":
          if (event.type === "message_stop") phase = "stopped";
          else if (event.type !== "ping") return violation(`${event.type} after message_delta`);
          break;
      }
      controller.enqueue(event);
    },
    flush() {
      if (phase === "stopped" || phase === "failed") return;
      fail(
        new ApiError("api_error", "upstream stream ended before the answer was complete (no message_stop)", {
          status: 502,
        }),
        false,
      );
    },
    cancel() {
      // The client went away: nothing more is written, and no failure is reported for it.
      phase = "failed";
    },
  };
  const sourceFailed = (error: unknown) => {
    if (phase === "failed") return; // already ended (or cancelled by the client)
    if (phase !== "stopped") return fail(error, true);
    // The answer was complete: a late failure only ends the output, it does not unsay the answer.
    phase = "failed";
    try {
      out.terminate();
    } catch {
      // Already closed.
    }
  };
  return { transformer, sourceFailed };
}

export class StreamIntegrity extends TransformStream<ClaudeStreamEvent, GuardedEvent> {
  readonly #sourceFailed: (error: unknown) => void;

  constructor(options: StreamIntegrityOptions = {}) {
    const stage = integrityStage(options);
    super(stage.transformer);
    this.#sourceFailed = stage.sourceFailed;
  }

  /**
   * Pipes `source` into this stage and returns its output. A failure of `source` becomes the one `error`
   * event (unless the answer was already complete); cancelling the output cancels `source`.
   */
  guard(source: ReadableStream<ClaudeStreamEvent>): ReadableStream<GuardedEvent> {
    source.pipeTo(this.writable, { preventAbort: true }).catch(this.#sourceFailed);
    return this.readable;
  }

  /** `guard` with `next` run in the same chain (see `StageChain`): the guarded events as `next` maps them. */
  static guardThrough<O>(
    source: ReadableStream<ClaudeStreamEvent>,
    options: StreamIntegrityOptions,
    next: SyncTransformer<GuardedEvent, O>,
  ): ReadableStream<O> {
    const stage = integrityStage(options);
    const chain = new StageChain<ClaudeStreamEvent, O>([stage.transformer, next]);
    source.pipeTo(chain.writable, { preventAbort: true }).catch(stage.sourceFailed);
    return chain.readable;
  }
}
