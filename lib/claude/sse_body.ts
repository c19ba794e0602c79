/**
 * `sseBody`: the production chain of a streamed Claude answer, from the gateway's events to the HTTP body.
 *
 *   events -> StreamIntegrity + ClaudeSseEncoder (one chain) -> sseWriter (batched writes, `ping` events on
 *   silence)
 *
 * `StreamIntegrity` makes the stream end with `message_stop` or exactly one `event: error` with a Claude
 * error body (never a made-up `end_turn`, never a silent stop); the encoder writes that event like any
 * other. Pings keep clients and proxies from timing out during long thinking. Cancelling the body (client
 * gone) cancels the event stream and so the upstream request. The route and the pipeline benches both call
 * this, so the benches measure what production runs.
 */
import type { ClaudeStreamEvent } from "./events.ts";
import { ClaudeSseEncoder } from "./sse_encoder.ts";
import { StreamIntegrity } from "./stream_integrity.ts";
import { sseWriter } from "../sse_writer.ts";

export interface SseBodyOptions {
  pingIntervalMs: number;
  /** Called once with the error that ended the stream early (for logging). */
  onError?: (error: unknown) => void;
}

const PING = new TextEncoder().encode(ClaudeSseEncoder.frame({ type: "ping" }));

export function sseBody(
  events: ReadableStream<ClaudeStreamEvent>,
  options: SseBodyOptions,
): ReadableStream<Uint8Array> {
  const encoded = StreamIntegrity.guardThrough(
    events,
    { onError: options.onError },
    ClaudeSseEncoder.transformer(),
  );
  return sseWriter(encoded, {
    pingIntervalMs: options.pingIntervalMs,
    ping: PING,
  });
}
