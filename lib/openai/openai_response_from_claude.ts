/**
 * `openAIResponseFromClaude`: a complete Claude message (from `MessageCollector`) -> an OpenAI
 * `chat.completion` object, for `stream:false` on the OpenAI-compatible inbound API.
 *
 * Pure. Text blocks are joined into `content` (null when there is none), thinking into
 * `reasoning_content`, tool_use blocks become `tool_calls` with JSON-string arguments; stop reason and
 * usage map as in `claude_to_openai_chunks.ts`, so streaming and non-streaming answers agree.
 */
import type { ClaudeMessageResponse } from "../claude/events.ts";
import { OPENAI_FINISH_REASON, openAIUsage } from "./claude_to_openai_chunks.ts";
import type { OpenAIChatCompletion, OpenAIToolCall } from "./openai_types.ts";

export interface OpenAIResponseOptions {
  /** The `chatcmpl-...` id. */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model name the client asked for (defaults to the message's). */
  model?: string;
}

/** Converts a collected Claude message to a `chat.completion`. */
export function openAIResponseFromClaude(
  message: ClaudeMessageResponse,
  options: OpenAIResponseOptions,
): OpenAIChatCompletion {
  const texts: string[] = [];
  const thinking: string[] = [];
  const toolCalls: OpenAIToolCall[] = [];
  for (const block of message.content) {
    if (block.type === "text") texts.push(String(block.text ?? ""));
    else if (block.type === "thinking") thinking.push(String(block.thinking ?? ""));
    else if (block.type === "tool_use") {
      toolCalls.push({
        id: String(block.id),
        type: "function",
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const result: OpenAIChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    content: texts.length > 0 ? texts.join("") : null,
    refusal: null,
  };
  if (thinking.length > 0) result.reasoning_content = thinking.join("");
  if (toolCalls.length > 0) result.tool_calls = toolCalls;
  return {
    id: options.id,
    object: "chat.completion",
    created: Math.floor(options.created),
    model: options.model ?? message.model,
    choices: [{
      index: 0,
      message: result,
      finish_reason: message.stop_reason ? OPENAI_FINISH_REASON[message.stop_reason] ?? "stop" : "stop",
      logprobs: null,
    }],
    usage: openAIUsage(message.usage),
  };
}
