/**
 * `ClaudeToOpenAIChunks`: Claude stream events -> the bytes of an OpenAI `chat.completion.chunk` stream
 * (`data: {...}\n\n` lines, then `data: [DONE]\n\n`) for the OpenAI-compatible inbound API.
 *
 * A stream stage: OpenAI clients are served the same Claude events as everyone else, turned into chunks here.
 * One serialization per chunk. Text goes to `delta.content`, thinking to `delta.reasoning_content` (the
 * field DeepSeek-style clients read; signatures have no OpenAI form and are dropped), tool_use blocks to
 * `delta.tool_calls` numbered 0, 1, ... among tool calls. The stop reason becomes `finish_reason` in a last
 * chunk with an empty delta; with `includeUsage` every chunk carries `usage: null` and a final chunk with
 * `choices: []` carries the usage, as OpenAI does. Its input comes through `StreamIntegrity`, so it ends
 * with `message_stop` or one Claude `error` event; the error becomes `openAIStreamErrorLine` and no `[DONE]`
 * follows it.
 */
import { mergeDeltaUsage, type StopReason, type Usage } from "../claude/events.ts";
import type { GuardedEvent } from "../claude/stream_integrity.ts";
import { ApiError } from "../errors.ts";
import { openAIStreamErrorLine } from "./openai_stream_error.ts";
import type { OpenAIFinishReason, OpenAIUsage } from "./openai_types.ts";

export interface ClaudeToOpenAIChunksOptions {
  /** The `chatcmpl-...` id of every chunk. */
  id: string;
  /** The model name the client asked for. */
  model: string;
  /** Unix seconds for `created`. */
  created: number;
  /** The client sent `stream_options.include_usage: true`. */
  includeUsage: boolean;
}

/** Claude stop reason -> OpenAI finish reason (shared with `openai_response_from_claude.ts`). */
export const OPENAI_FINISH_REASON: Readonly<Record<StopReason, OpenAIFinishReason>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** The OpenAI usage object for a Claude usage (prompt tokens include the cached ones on the OpenAI side). */
export function openAIUsage(
  usage: Usage,
): OpenAIUsage & { prompt_tokens_details: { cached_tokens: number } } {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + cacheRead + (usage.cache_creation_input_tokens ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
}

export class ClaudeToOpenAIChunks extends TransformStream<GuardedEvent, Uint8Array> {
  constructor(options: ClaudeToOpenAIChunksOptions) {
    super(ClaudeToOpenAIChunks.transformer(options));
  }

  /** The stage as a transformer, to run in a `StageChain`. */
  static transformer(options: ClaudeToOpenAIChunksOptions): Transformer<GuardedEvent, Uint8Array> {
    const encoder = new TextEncoder();
    // Fixed prefix of every chunk, serialized once.
    const head = `data: {"id":${JSON.stringify(options.id)},"object":"chat.completion.chunk","created":${
      Math.floor(options.created)
    },"model":${JSON.stringify(options.model)},`;
    const usageNull = options.includeUsage ? `,"usage":null` : "";
    /** Claude block index -> OpenAI tool call index. */
    const toolIndex = new Map<number, number>();
    let usage: Usage = { input_tokens: 0, output_tokens: 0 };
    let finish: OpenAIFinishReason = "stop";
    let done = false;
    const chunk = (delta: unknown, finishReason: OpenAIFinishReason | null = null) =>
      encoder.encode(
        `${head}"choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${
          finishReason === null ? "null" : `"${finishReason}"`
        }}]${usageNull}}\n\n`,
      );
    return {
      transform(event, controller) {
        if (done) return;
        switch (event.type) {
          case "message_start":
            usage = { ...event.message.usage };
            controller.enqueue(chunk({ role: "assistant", content: "" }));
            return;
          case "content_block_start": {
            const block = event.content_block;
            if (block.type !== "tool_use") return;
            const index = toolIndex.size;
            toolIndex.set(event.index, index);
            controller.enqueue(chunk({
              tool_calls: [{
                index,
                id: block.id,
                type: "function",
                function: { name: block.name, arguments: "" },
              }],
            }));
            return;
          }
          case "content_block_delta": {
            const delta = event.delta;
            if (delta.type === "text_delta") controller.enqueue(chunk({ content: delta.text }));
            else if (delta.type === "thinking_delta") {
              controller.enqueue(chunk({ reasoning_content: delta.thinking }));
            } else if (delta.type === "input_json_delta") {
              const index = toolIndex.get(event.index);
              if (index === undefined) return;
              controller.enqueue(
                chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] }),
              );
            }
            return;
          }
          case "message_delta":
            finish = OPENAI_FINISH_REASON[event.delta.stop_reason] ?? "stop";
            usage = mergeDeltaUsage(usage, event.usage);
            return;
          case "message_stop": {
            done = true;
            controller.enqueue(chunk({}, finish));
            if (options.includeUsage) {
              controller.enqueue(
                encoder.encode(`${head}"choices":[],"usage":${JSON.stringify(openAIUsage(usage))}}\n\n`),
              );
            }
            controller.enqueue(encoder.encode("data: [DONE]\n\n"));
            return;
          }
          case "error":
            done = true;
            controller.enqueue(
              encoder.encode(openAIStreamErrorLine(new ApiError(event.error.type, event.error.message))),
            );
            return;
          default:
            return;
        }
      },
    };
  }
}
