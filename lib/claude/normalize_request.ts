/**
 * Turns a schema-validated Messages body into the normalized `ClaudeRequest` every converter consumes.
 *
 * Pure. Folds `role:"system"` messages into the system prompt (Claude Code sends them with its default
 * model), drops Claude Code's `x-anthropic-billing-header:` system line (metadata, not
 * instructions), turns string contents into one text block, and keeps unknown top-level fields in `extra`.
 */
import type {
  ClaudeMessage,
  ClaudeRequest,
  ContentBlock,
  RawCountTokensRequest,
  TextBlock,
} from "./request_schema.ts";

const KNOWN_FIELDS = new Set([
  "model",
  "max_tokens",
  "messages",
  "system",
  "tools",
  "tool_choice",
  "thinking",
  "metadata",
  "temperature",
  "top_p",
  "top_k",
  "stop_sequences",
  "stream",
]);

const BILLING_HEADER = "x-anthropic-billing-header:";

/** Default `max_tokens` for requests that need none (count_tokens, OpenAI inbound without a limit). */
export const DEFAULT_MAX_TOKENS = 4096;

function toBlocks(content: string | ContentBlock[]): ContentBlock[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

function isBillingLine(block: TextBlock): boolean {
  return block.text.trimStart().startsWith(BILLING_HEADER);
}

/** Normalizes a validated request; `max_tokens` defaults to `DEFAULT_MAX_TOKENS` when absent. */
export function normalizeClaudeRequest(raw: RawCountTokensRequest & { max_tokens?: number }): ClaudeRequest {
  const system: TextBlock[] = [];
  if (typeof raw.system === "string") {
    if (raw.system.length > 0) system.push({ type: "text", text: raw.system });
  } else if (raw.system) {
    system.push(...raw.system);
  }
  const messages: ClaudeMessage[] = [];
  for (const message of raw.messages) {
    const blocks = toBlocks(message.content);
    if (message.role === "system") {
      for (const block of blocks) {
        if (block.type === "text") system.push({ type: "text", text: block.text });
      }
      continue;
    }
    messages.push({ role: message.role, content: blocks });
  }
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!KNOWN_FIELDS.has(key)) extra[key] = value;
  }
  const request: ClaudeRequest = {
    model: raw.model,
    max_tokens: raw.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages,
    system: system.filter((block) => !isBillingLine(block)),
    stream: raw.stream ?? false,
    extra,
  };
  if (raw.tools) request.tools = raw.tools;
  if (raw.tool_choice) request.tool_choice = raw.tool_choice;
  if (raw.thinking) request.thinking = raw.thinking;
  if (raw.metadata) request.metadata = raw.metadata;
  if (raw.temperature !== undefined) request.temperature = raw.temperature;
  if (raw.top_p !== undefined) request.top_p = raw.top_p;
  if (raw.top_k !== undefined) request.top_k = raw.top_k;
  if (raw.stop_sequences) request.stop_sequences = raw.stop_sequences;
  return request;
}
