/**
 * `OpenAIToClaude`: parsed SSE messages of an OpenAI Chat Completions stream -> Claude stream events.
 *
 * A stream stage: no fetch, no log, no clock. It is not the SSE
 * parser (feed it `TextDecoderStream` -> `EventSourceParserStream`, so multi-byte characters split across
 * network chunks decode correctly) and not the HTTP error handling (`custom_channel.ts`). What it
 * guarantees:
 * - tool calls are keyed by `index`; an `id` repeated in every chunk is a continuation, and parallel calls
 *   whose argument fragments interleave are kept apart. Claude blocks cannot interleave, so arguments are
 *   buffered per call and each `tool_use` block is emitted whole (start with `input:{}`, one
 *   `input_json_delta`, stop) once `finish_reason` arrives; arguments that are not a JSON object error the
 *   stream instead of handing the client a tool input it cannot parse;
 * - `reasoning_content` / `reasoning` become a signed thinking block;
 * - upstream `usage` is used for the final usage (cached prompt tokens -> `cache_read_input_tokens`);
 * - a stream that stops before `finish_reason`, or carries an `error` object, errors with `UpstreamError`:
 *   never an empty successful message.
 */
import type { EventSourceMessage } from "eventsource-parser/stream";
import { BlockSequencer } from "../claude/block_sequencer.ts";
import { type ClaudeStreamEvent, messageStart, type StopReason, type Usage } from "../claude/events.ts";
import { ProtocolError } from "../errors.ts";
import { brokeOff } from "../upstream/broke_off.ts";
import type {
  OpenAIChatChunk,
  OpenAIChunkDelta,
  OpenAIToolCallDelta,
  OpenAIUsage,
} from "../openai/openai_types.ts";
import { upstreamError } from "./upstream_error.ts";

export interface OpenAIToClaudeOptions {
  /** The `msg_...` id for `message_start`. */
  messageId: string;
  /** The model name the client sees. */
  model: string;
  /** Local input-token estimate, reported until the upstream's `usage` arrives. */
  inputTokens: number;
  /** Signs a finished thinking block's text (`ThinkingSigner.sign`). */
  sign(thinking: string): string;
}

const FINISH_REASONS: Record<string, StopReason> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

interface PendingToolCall {
  id: string;
  name: string;
  /** Argument fragments, joined once at the end (linear in the argument size). */
  args: string[];
}

export class OpenAIToClaude extends TransformStream<EventSourceMessage, ClaudeStreamEvent> {
  #options: OpenAIToClaudeOptions;
  #controller: TransformStreamDefaultController<ClaudeStreamEvent> | undefined;
  #seq: BlockSequencer;
  #thinking: string[] = [];
  /** Tool calls in order of appearance; `#slotByIndex` maps the upstream `index` to the current one. */
  #tools: PendingToolCall[] = [];
  #slotByIndex = new Map<number, PendingToolCall>();
  #lastTool: PendingToolCall | undefined;
  #toolsEmitted = false;
  #finish: StopReason | null = null;
  #refused = false;
  #usage: OpenAIUsage | undefined;
  /** Characters of output seen, for an estimate when the upstream reports no usage. */
  #outputChars = 0;
  #done = false;
  #ended = false;

  constructor(options: OpenAIToClaudeOptions) {
    super({
      // `start` runs inside `super()`, before `this` exists: it may only use the options.
      start(controller) {
        controller.enqueue(
          messageStart(options.messageId, options.model, {
            input_tokens: options.inputTokens,
            output_tokens: 0,
          }),
        );
      },
      transform: (message, controller) => {
        this.#controller = controller;
        this.#onMessage(message);
      },
      flush: (controller) => {
        this.#controller = controller;
        this.#end();
      },
    });
    this.#options = options;
    this.#seq = new BlockSequencer((event) => this.#controller!.enqueue(event));
  }

  #onMessage(message: EventSourceMessage): void {
    if (this.#done) return;
    const data = message.data;
    if (data === "[DONE]") {
      this.#done = true;
      this.#end();
      return;
    }
    if (data.length === 0) return;
    let chunk: OpenAIChatChunk;
    try {
      chunk = JSON.parse(data);
    } catch (cause) {
      throw new ProtocolError(`Cannot parse OpenAI stream chunk: ${data.slice(0, 200)}`, { cause });
    }
    if (typeof chunk !== "object" || chunk === null) {
      throw new ProtocolError(`Cannot read OpenAI stream chunk: ${data.slice(0, 200)}`);
    }
    // Providers report failures inside a 200 stream as `{"error":{...}}` (OpenAI, OpenRouter) or as an
    // SSE `event: error` (vLLM): both end the answer.
    if (chunk.error !== undefined && chunk.error !== null || message.event === "error") {
      throw upstreamError({ provider: "openai", body: chunk });
    }
    if (chunk.usage) this.#usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const delta = choice.delta ?? {};
    this.#onDelta(delta);
    if (choice.finish_reason) {
      this.#finish = FINISH_REASONS[choice.finish_reason] ?? "end_turn";
      this.#emitTools();
    }
  }

  #onDelta(delta: OpenAIChunkDelta): void {
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (typeof reasoning === "string" && reasoning.length > 0) {
      this.#outputChars += reasoning.length;
      this.#thinking.push(reasoning);
      this.#seq.thinking(reasoning);
    }
    const text = delta.content ?? delta.refusal;
    if (typeof text === "string" && text.length > 0) {
      if (delta.content == null) this.#refused = true;
      this.#outputChars += text.length;
      this.#endThinking();
      this.#seq.text(text);
    }
    if (delta.tool_calls) {
      for (const call of delta.tool_calls) this.#onToolCall(call);
    } else if (delta.function_call) {
      // The legacy single-function form: one call, no index, no id.
      this.#onToolCall({ index: 0, function: delta.function_call });
    }
  }

  #onToolCall(call: OpenAIToolCallDelta): void {
    const id = call.id ?? "";
    const name = call.function?.name ?? "";
    let tool = call.index === undefined ? this.#lastTool : this.#slotByIndex.get(call.index);
    // Some servers omit `index` or reuse index 0 for every call; a different id there is a new call.
    if (!tool || (id !== "" && tool.id !== "" && id !== tool.id)) {
      if (this.#toolsEmitted) throw new ProtocolError("Cannot add a tool call after finish_reason");
      tool = { id, name: "", args: [] };
      this.#tools.push(tool);
      this.#slotByIndex.set(call.index ?? this.#tools.length - 1, tool);
    }
    if (tool.id === "") tool.id = id;
    // A name repeated in every chunk is the same name; a name sent in pieces is concatenated.
    if (name !== "" && name !== tool.name) tool.name = tool.args.length === 0 ? tool.name + name : name;
    const args = call.function?.arguments;
    if (typeof args === "string" && args.length > 0) {
      tool.args.push(args);
      this.#outputChars += args.length;
    }
    this.#lastTool = tool;
  }

  /** Closes an open thinking block with the signature of its text. */
  #endThinking(): void {
    if (this.#seq.thinkingNeedsSignature) {
      this.#seq.signature(this.#options.sign(this.#thinking.join("")));
    }
    this.#thinking = [];
  }

  #emitTools(): void {
    if (this.#toolsEmitted) return;
    this.#endThinking();
    this.#toolsEmitted = true;
    for (const [position, tool] of this.#tools.entries()) {
      if (tool.name === "") {
        throw new ProtocolError(`Cannot emit tool call ${position}: the upstream sent no name`);
      }
      const json = tool.args.join("").trim() || "{}";
      let input: unknown;
      try {
        input = JSON.parse(json);
      } catch (cause) {
        throw new ProtocolError(`Cannot emit tool call "${tool.name}": its arguments are not valid JSON`, {
          cause,
        });
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        throw new ProtocolError(`Cannot emit tool call "${tool.name}": its arguments are not a JSON object`);
      }
      // Servers that send no id still need one the client can answer with; derive it deterministically.
      const id = tool.id || `toolu_${this.#options.messageId.replace(/^msg_/, "")}_${position}`;
      this.#seq.startToolUse(id, tool.name);
      this.#seq.toolInput(json);
    }
    this.#seq.close();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#finish === null) {
      throw brokeOff("openai", "the stream ended before finish_reason");
    }
    this.#emitTools();
    this.#endThinking();
    this.#seq.close();
    let stopReason = this.#finish;
    // Several servers (Ollama, some vLLM versions) answer `stop` after tool calls; Claude clients only run
    // tools when the stop reason says so.
    if (this.#tools.length > 0 && stopReason === "end_turn") stopReason = "tool_use";
    if (this.#refused && stopReason === "end_turn") stopReason = "refusal";
    const emit = this.#controller!;
    emit.enqueue({
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: this.#finalUsage(),
    });
    emit.enqueue({ type: "message_stop" });
  }

  #finalUsage(): Usage {
    const usage = this.#usage;
    if (!usage) {
      // No usage from the upstream (include_usage unsupported): a rough chars/4 estimate beats zero.
      return { input_tokens: this.#options.inputTokens, output_tokens: Math.ceil(this.#outputChars / 4) };
    }
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    return {
      input_tokens: Math.max(0, (usage.prompt_tokens ?? 0) - cached),
      output_tokens: usage.completion_tokens ?? 0,
      cache_read_input_tokens: cached,
      cache_creation_input_tokens: 0,
    };
  }
}
