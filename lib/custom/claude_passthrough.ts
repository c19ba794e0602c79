/**
 * `ClaudePassthrough`: parsed SSE messages of a Claude-format upstream -> Claude stream events.
 *
 * A stream stage for the custom `format:"claude"` backend. The upstream
 * already speaks our internal model, so events pass through, except that `message_start` gets the
 * server's message id and the model name the client asked for, an upstream `error` event errors the stream
 * with a classified `UpstreamError` (never passed on as data of a successful answer), and a
 * stream that ends without `message_stop` is an error, never a silent stop. Event types this proxy does not
 * model are dropped. It is not the HTTP part (`custom_channel.ts`); it parses each message once.
 */
import type { EventSourceMessage } from "eventsource-parser/stream";
import type { ClaudeStreamEvent } from "../claude/events.ts";
import { ProtocolError } from "../errors.ts";
import { brokeOff } from "../upstream/broke_off.ts";
import { upstreamError } from "./upstream_error.ts";

export interface ClaudePassthroughOptions {
  /** The `msg_...` id the client sees in `message_start`. */
  messageId: string;
  /** The model name the client sees. */
  model: string;
}

const KNOWN_EVENTS = new Set([
  "message_start",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop",
  "ping",
]);

export class ClaudePassthrough extends TransformStream<EventSourceMessage, ClaudeStreamEvent> {
  constructor(options: ClaudePassthroughOptions) {
    let started = false;
    let stopped = false;
    super({
      transform(message, controller) {
        if (stopped || message.data.length === 0) return;
        let event: { type?: unknown; [k: string]: unknown };
        try {
          event = JSON.parse(message.data);
        } catch (cause) {
          throw new ProtocolError(`Cannot parse Claude stream event: ${message.data.slice(0, 200)}`, {
            cause,
          });
        }
        const type = typeof event?.type === "string" ? event.type : message.event;
        if (type === "error") throw upstreamError({ provider: "claude", body: event });
        if (type === undefined || !KNOWN_EVENTS.has(type)) return;
        if (type === "message_start") {
          const upstream = event.message as Record<string, unknown> | undefined;
          if (typeof upstream !== "object" || upstream === null) {
            throw new ProtocolError("Cannot read message_start: it has no message");
          }
          started = true;
          controller.enqueue({
            type: "message_start",
            message: { ...upstream, id: options.messageId, model: options.model },
          } as ClaudeStreamEvent);
          return;
        }
        if (!started) throw new ProtocolError(`Cannot pass ${type} through: it came before message_start`);
        if (type === "message_stop") stopped = true;
        controller.enqueue(event as unknown as ClaudeStreamEvent);
      },
      flush() {
        if (!stopped) {
          throw brokeOff("claude", "the stream ended before message_stop");
        }
      },
    });
  }
}
