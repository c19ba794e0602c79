/**
 * Claude Messages stream events: the one internal model of the streaming pipeline.
 *
 * Every upstream stage (Amazon Q, Gemini, OpenAI) emits these; one encoder writes them as SSE, one
 * collector folds them into a non-streaming message, one stage turns them into OpenAI chunks. A correct
 * stream, as Claude clients check it: `message_start` first, blocks indexed in order, each started
 * after the previous one stopped, exactly one `message_delta` then `message_stop`. A failure is not an event
 * here: stages error their stream with a typed error and the edge writes one `error` event.
 */

export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "pause_turn" | "refusal";

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  /** The cache creation by lifetime (Anthropic reports it next to the total). */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface MessageStartEvent {
  type: "message_start";
  message: {
    id: string;
    type: "message";
    role: "assistant";
    model: string;
    content: [];
    stop_reason: null;
    stop_sequence: null;
    usage: Usage;
  };
}

export interface WebSearchResult {
  type: "web_search_result";
  title: string;
  url: string;
  encrypted_content: string;
  page_age?: string | null;
}

export type StartContentBlock =
  | { type: "text"; text: "" }
  | { type: "thinking"; thinking: ""; signature: "" }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, never> }
  | { type: "server_tool_use"; id: string; name: string; input: Record<string, unknown> }
  | {
    type: "web_search_tool_result";
    tool_use_id: string;
    content: WebSearchResult[] | { type: "web_search_tool_result_error"; error_code: string };
  };

export type ContentDelta =
  | { type: "text_delta"; text: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string }
  | { type: "input_json_delta"; partial_json: string };

export interface ContentBlockStartEvent {
  type: "content_block_start";
  index: number;
  content_block: StartContentBlock;
}

export interface ContentBlockDeltaEvent {
  type: "content_block_delta";
  index: number;
  delta: ContentDelta;
}

export interface ContentBlockStopEvent {
  type: "content_block_stop";
  index: number;
}

export interface MessageDeltaEvent {
  type: "message_delta";
  delta: { stop_reason: StopReason; stop_sequence: string | null };
  usage: Usage;
}

export interface MessageStopEvent {
  type: "message_stop";
}

export interface PingEvent {
  type: "ping";
}

export type ClaudeStreamEvent =
  | MessageStartEvent
  | ContentBlockStartEvent
  | ContentBlockDeltaEvent
  | ContentBlockStopEvent
  | MessageDeltaEvent
  | MessageStopEvent
  | PingEvent;

/** A complete (non-streaming) Claude message, as `stream:false` returns it. */
export interface ClaudeMessageResponse {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Array<Record<string, unknown>>;
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: Usage;
}

/** Builds the `message_start` event every stage sends first. */
export function messageStart(id: string, model: string, usage: Usage): MessageStartEvent {
  return {
    type: "message_start",
    message: {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  };
}

/**
 * Usage after a `message_delta`: its output tokens replace the running count, and input and cache figures
 * replace the `message_start` estimate when the upstream reported them (an input of 0 means "not reported").
 */
export function mergeDeltaUsage(current: Usage, delta: Usage): Usage {
  const merged: Usage = { ...current, output_tokens: delta.output_tokens };
  if (delta.input_tokens > 0) merged.input_tokens = delta.input_tokens;
  if (delta.cache_read_input_tokens !== undefined) {
    merged.cache_read_input_tokens = delta.cache_read_input_tokens;
  }
  if (delta.cache_creation_input_tokens !== undefined) {
    merged.cache_creation_input_tokens = delta.cache_creation_input_tokens;
  }
  if (delta.cache_creation !== undefined) merged.cache_creation = { ...delta.cache_creation };
  // A full cache hit reports 0 plain input: that is a figure, not "not reported".
  if (delta.input_tokens === 0 && (delta.cache_read_input_tokens ?? 0) > 0) merged.input_tokens = 0;
  return merged;
}
