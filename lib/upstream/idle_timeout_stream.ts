/**
 * `IdleTimeoutStream`: a byte pass-through stage that fails the stream when the upstream sends nothing for
 * `idleMs` while the reader is waiting for more.
 *
 * A stalled upstream would otherwise hold a client for ever with only pings flowing. The timer is re-armed
 * by every chunk; when it fires while chunks are still queued for the reader (the client is slow, not the
 * upstream) it is re-armed instead, so backpressure is never mistaken for a stall. The error is a
 * `transient` `UpstreamError` that names the stall, so before the first byte to the client the pool fails
 * over, and after it the client gets one error event saying what happened.
 */
import { UpstreamError } from "../errors.ts";

export interface IdleTimeoutOptions {
  idleMs: number;
  provider: string;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

export class IdleTimeoutStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(options: IdleTimeoutOptions) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => clearTimeout(timer);
    const arm = (controller: TransformStreamDefaultController<Uint8Array>) => {
      stop();
      timer = setTimeout(() => {
        const waiting = (controller.desiredSize ?? 0) > 0;
        if (!waiting) return arm(controller);
        controller.error(
          new UpstreamError("transient", `upstream stalled: no data for ${seconds(options.idleMs)} s`, {
            provider: options.provider,
          }),
        );
      }, options.idleMs);
    };
    super(
      {
        start: (controller) => arm(controller),
        transform(chunk, controller) {
          controller.enqueue(chunk);
          arm(controller);
        },
        flush: stop,
        cancel: stop,
      },
      undefined,
      // One queued chunk is room to tell "the reader has all we got" from "the reader is behind".
      { highWaterMark: 1 },
    );
  }
}
