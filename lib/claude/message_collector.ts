/**
 * Folds a stream of Claude events into one non-streaming Claude message (`stream:false`).
 *
 * The same stages serve both modes; this is the only place that builds a whole message. A stream that
 * errors rejects (so the route answers with a proper error status), and a stream that ends without
 * `message_delta` and `message_stop` is a `ProtocolError`, never a partial answer passed off as complete.
 */
import { ProtocolError } from "../errors.ts";
import { type ClaudeMessageResponse, type ClaudeStreamEvent, mergeDeltaUsage } from "./events.ts";

interface BlockState {
  block: Record<string, unknown>;
  json: string;
  isTool: boolean;
}

export class MessageCollector {
  #message: ClaudeMessageResponse | null = null;
  #blocks = new Map<number, BlockState>();
  #delta = false;
  #stopped = false;

  /** Applies one event. */
  push(event: ClaudeStreamEvent): void {
    switch (event.type) {
      case "message_start": {
        const m = event.message;
        this.#message = {
          id: m.id,
          type: "message",
          role: "assistant",
          model: m.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...m.usage },
        };
        return;
      }
      case "content_block_start": {
        const block: Record<string, unknown> = structuredClone(event.content_block);
        const isTool = block.type === "tool_use" || block.type === "server_tool_use";
        this.#blocks.set(event.index, { block, json: "", isTool });
        return;
      }
      case "content_block_delta": {
        const state = this.#blocks.get(event.index);
        if (!state) throw new ProtocolError(`delta for unknown block ${event.index}`);
        const d = event.delta;
        if (d.type === "text_delta") state.block.text = String(state.block.text ?? "") + d.text;
        else if (d.type === "thinking_delta") {
          state.block.thinking = String(state.block.thinking ?? "") + d.thinking;
        } else if (d.type === "signature_delta") state.block.signature = d.signature;
        else state.json += d.partial_json;
        return;
      }
      case "content_block_stop": {
        const state = this.#blocks.get(event.index);
        if (!state) throw new ProtocolError(`stop for unknown block ${event.index}`);
        if (state.isTool && state.json.length > 0) {
          try {
            state.block.input = JSON.parse(state.json);
          } catch (cause) {
            throw new ProtocolError(`tool input of block ${event.index} is not valid JSON`, { cause });
          }
        }
        return;
      }
      case "message_delta": {
        if (!this.#message) throw new ProtocolError("message_delta before message_start");
        this.#message.stop_reason = event.delta.stop_reason;
        this.#message.stop_sequence = event.delta.stop_sequence;
        this.#message.usage = mergeDeltaUsage(this.#message.usage, event.usage);
        this.#delta = true;
        return;
      }
      case "message_stop":
        this.#stopped = true;
        return;
      case "ping":
        return;
    }
  }

  /** The finished message; throws if the stream was incomplete. */
  result(): ClaudeMessageResponse {
    if (!this.#message) throw new ProtocolError("upstream stream ended before message_start");
    if (!this.#delta || !this.#stopped) throw new ProtocolError("upstream stream ended before message_stop");
    const indexes = [...this.#blocks.keys()].sort((a, b) => a - b);
    this.#message.content = indexes.map((i) => this.#blocks.get(i)!.block);
    return this.#message;
  }

  /** Reads a whole event stream into a message. */
  static async collect(events: ReadableStream<ClaudeStreamEvent>): Promise<ClaudeMessageResponse> {
    const collector = new MessageCollector();
    for await (const event of events) collector.push(event);
    return collector.result();
  }
}
