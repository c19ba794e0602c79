/**
 * `framePayload`: the JSON object an Amazon Q event-stream frame carries. An empty payload is an empty
 * object; anything that is not a JSON object is a `ProtocolError` naming the frame's offset, so a garbled
 * stream is reported as such instead of being half-translated.
 */
import { ProtocolError } from "../errors.ts";
import type { EventStreamFrame } from "./event_stream_decoder.ts";

export function framePayload(frame: EventStreamFrame, utf8: TextDecoder): Record<string, unknown> {
  if (frame.payload.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(frame.payload));
  } catch (cause) {
    throw new ProtocolError(`event payload at offset ${frame.offset} is not valid JSON`, {
      offset: frame.offset,
      cause,
    });
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ProtocolError(`event payload at offset ${frame.offset} is not a JSON object`, {
      offset: frame.offset,
    });
  }
  return parsed as Record<string, unknown>;
}
