/**
 * `guardUpstreamBody`: wraps an upstream response body so a broken connection errors the pipeline with a
 * classified `UpstreamError` (`transient`) instead of a bare `TypeError` from the runtime.
 *
 * Pull-based: it reads one chunk when the next stage asks for one, so backpressure and cancellation flow
 * as with a plain `pipeThrough` (design.md: no pumping `start` loops). It is not a parser. When the client
 * went away (`signal` aborted) the abort reason is passed on unchanged: that failure says nothing about the
 * account.
 */
import { UpstreamError } from "../errors.ts";

export interface GuardUpstreamBodyOptions {
  provider: string;
  signal: AbortSignal;
}

/** The body, with read failures turned into `UpstreamError`. */
export function guardUpstreamBody(
  body: ReadableStream<Uint8Array>,
  options: GuardUpstreamBodyOptions,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (cause) {
        if (options.signal.aborted) throw options.signal.reason ?? cause;
        throw new UpstreamError("transient", "upstream connection broke mid-stream", {
          provider: options.provider,
          cause,
        });
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
