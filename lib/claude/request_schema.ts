/**
 * The Claude Messages API request, as a zod schema, and the request types every converter consumes.
 *
 * Follows Anthropic's Messages API and what Claude Code actually sends: unknown
 * top-level fields (`context_management`, `output_config`, ...) and unknown fields inside known objects are
 * kept, `thinking` may be `adaptive`, and `role:"system"` entries may appear inside `messages` (they are
 * folded into the system prompt by `normalizeClaudeRequest`). Content block types the proxy does not know
 * are rejected with a message naming the field, as Anthropic does.
 */
import { z } from "zod";

const cacheControl = z.looseObject({ type: z.string() }).optional();

const textBlock = z.looseObject({
  type: z.literal("text"),
  text: z.string(),
  cache_control: cacheControl,
});

const imageSource = z.union([
  z.looseObject({ type: z.literal("base64"), media_type: z.string(), data: z.string() }),
  z.looseObject({ type: z.literal("url"), url: z.string() }),
]);

const imageBlock = z.looseObject({
  type: z.literal("image"),
  source: imageSource,
  cache_control: cacheControl,
});

const documentBlock = z.looseObject({
  type: z.literal("document"),
  source: z.looseObject({ type: z.string() }),
  cache_control: cacheControl,
});

const toolUseBlock = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});

const toolResultContentBlock = z.union([
  textBlock,
  imageBlock,
  documentBlock,
  z.looseObject({ type: z.string() }),
]);

const toolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(toolResultContentBlock)]).optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});

const thinkingBlock = z.looseObject({
  type: z.literal("thinking"),
  thinking: z.string(),
  signature: z.string().optional(),
});

const redactedThinkingBlock = z.looseObject({ type: z.literal("redacted_thinking"), data: z.string() });

const serverToolUseBlock = z.looseObject({
  type: z.literal("server_tool_use"),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()),
});

const webSearchResultBlock = z.looseObject({
  type: z.literal("web_search_tool_result"),
  tool_use_id: z.string(),
  content: z.unknown(),
});

const searchResultBlock = z.looseObject({ type: z.literal("search_result"), content: z.unknown() });

const contentBlock = z.discriminatedUnion("type", [
  textBlock,
  imageBlock,
  documentBlock,
  toolUseBlock,
  toolResultBlock,
  thinkingBlock,
  redactedThinkingBlock,
  serverToolUseBlock,
  webSearchResultBlock,
  searchResultBlock,
]);

const message = z.looseObject({
  role: z.enum(["user", "assistant", "system"]),
  content: z.union([z.string(), z.array(contentBlock)]),
});

const tool = z.looseObject({
  name: z.string().min(1),
  type: z.string().optional(),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  cache_control: cacheControl,
});

const toolChoice = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("none") }),
  z.looseObject({
    type: z.literal("tool"),
    name: z.string().min(1),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
]);

const thinking = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("enabled"), budget_tokens: z.number().int().nonnegative() }),
  z.looseObject({ type: z.literal("disabled") }),
  z.looseObject({ type: z.literal("adaptive") }),
]);

const baseFields = {
  // Real model ids are short; a longer name is a client bug, refused before it reaches routing or logs.
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  thinking: thinking.optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().nonnegative().optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
};

/** `POST /v1/messages` body. */
export const messagesRequestSchema = z.looseObject({
  ...baseFields,
  max_tokens: z.number().int().positive(),
});

/** `POST /v1/messages/count_tokens` body (no `max_tokens`, no `stream`). */
export const countTokensRequestSchema = z.looseObject({ ...baseFields });

export type TextBlock = z.infer<typeof textBlock>;
export type ImageBlock = z.infer<typeof imageBlock>;
export type DocumentBlock = z.infer<typeof documentBlock>;
export type ToolUseBlock = z.infer<typeof toolUseBlock>;
export type ToolResultBlock = z.infer<typeof toolResultBlock>;
export type ThinkingBlock = z.infer<typeof thinkingBlock>;
export type RedactedThinkingBlock = z.infer<typeof redactedThinkingBlock>;
export type ContentBlock = z.infer<typeof contentBlock>;
export type ClaudeTool = z.infer<typeof tool>;
export type ToolChoice = z.infer<typeof toolChoice>;
export type ThinkingConfig = z.infer<typeof thinking>;
export type RawMessagesRequest = z.infer<typeof messagesRequestSchema>;
export type RawCountTokensRequest = z.infer<typeof countTokensRequestSchema>;

/** A conversation turn after normalization: only user/assistant, content always an array of blocks. */
export interface ClaudeMessage {
  role: "user" | "assistant";
  content: ContentBlock[];
}

/**
 * A validated, normalized Claude request: the one shape every converter takes.
 * `system` is always a list of text blocks (system-role messages folded in, Claude Code's billing header
 * line removed); `messages` alternate freely (converters repair alternation for upstreams that need it).
 */
export interface ClaudeRequest {
  model: string;
  max_tokens: number;
  messages: ClaudeMessage[];
  system: TextBlock[];
  tools?: ClaudeTool[];
  tool_choice?: ToolChoice;
  thinking?: ThinkingConfig;
  metadata?: { user_id?: string | null | undefined; [k: string]: unknown };
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream: boolean;
  /** Top-level fields the proxy does not interpret (kept for Claude-format passthrough). */
  extra: Record<string, unknown>;
}
