/**
 * `claudePassthroughBody`: the JSON body sent to a custom Claude-format upstream (`format:"claude"`).
 *
 * Pure. The normalized request is re-serialized (unknown top-level fields from `extra` kept, Claude Code's
 * billing line already gone, `model` = the upstream model, `stream: true`) and the thinking-continuity rules
 * below are applied, because history from other backends carries thinking blocks
 * a real Claude endpoint cannot verify:
 * - a thinking block counts as signed only with a signature this server did not make (`amq2api.v1.` is
 *   ours: an HMAC over Amazon Q or OpenAI reasoning, which Anthropic or Azure would reject); unsigned ones become `<previous_thinking>` text in place, so the reasoning stays in
 *   context; with thinking off, all thinking blocks go;
 * - with thinking on, the last assistant turn must start with a signed thinking block, or thinking is
 *   switched off for this request. Azure (`provider:"azure"`) always applies that rule (it refuses
 *   such a request otherwise); for other upstreams only in a tool loop (the last turn holds tool results), the one place
 *   Anthropic enforces it, so an ordinary follow-up question keeps its thinking;
 * - Azure only: `context_management`, `betas` and `anthropic_beta` are removed and tools are reduced to the
 *   fields Azure accepts. `thinking: true` cannot reach here (the request schema rejects it).
 */
import type { ClaudeMessage, ClaudeRequest, ContentBlock } from "../claude/request_schema.ts";
import { ThinkingSigner } from "../claude/thinking_signer.ts";

export interface ClaudePassthroughBodyOptions {
  /** The upstream model name. */
  model: string;
  /** `provider === "azure"`: apply the Azure cleaner. */
  azure: boolean;
}

/** Anthropic-defined tools: Azure takes only `{type, name}` for them. */
const ANTHROPIC_TOOL_TYPE = /^(bash|text_editor|web_search|computer|code_execution|web_fetch)_\d{8}$/;

const AZURE_DROPPED_FIELDS = ["context_management", "betas", "anthropic_beta"];

function signed(block: ContentBlock): boolean {
  if (block.type === "redacted_thinking") return block.data.length > 0;
  if (block.type !== "thinking") return false;
  return typeof block.signature === "string" && block.signature.length > 0 &&
    !ThinkingSigner.isOurs(block.signature);
}

function keepThinking(request: ClaudeRequest, azure: boolean): boolean {
  const type = request.thinking?.type;
  if (type !== "enabled" && type !== "adaptive") return false;
  const messages = request.messages;
  const lastAssistant = messages.findLast((message) => message.role === "assistant");
  if (!lastAssistant) return true;
  const last = messages[messages.length - 1];
  const toolLoop = last?.role === "user" && last.content.some((block) => block.type === "tool_result");
  if (!azure && !toolLoop) return true;
  const first = lastAssistant.content[0];
  return first !== undefined && signed(first);
}

function cleanContent(content: ContentBlock[], thinking: boolean): ContentBlock[] {
  const out: ContentBlock[] = [];
  for (const block of content) {
    if (block.type !== "thinking" && block.type !== "redacted_thinking") {
      out.push(block);
    } else if (thinking && signed(block)) {
      out.push(block);
    } else if (thinking && block.type === "thinking" && block.thinking.trim()) {
      out.push({ type: "text", text: `<previous_thinking>${block.thinking}</previous_thinking>` });
    }
  }
  return out;
}

function azureTools(tools: NonNullable<ClaudeRequest["tools"]>): Record<string, unknown>[] {
  return tools.map((tool) => {
    if (tool.type && ANTHROPIC_TOOL_TYPE.test(tool.type)) return { type: tool.type, name: tool.name };
    const out: Record<string, unknown> = {
      name: tool.name,
      input_schema: tool.input_schema ?? { type: "object" },
    };
    if (tool.description) out.description = tool.description;
    if (tool.cache_control) out.cache_control = tool.cache_control;
    return out;
  });
}

/** Anthropic rejects `clear_thinking_*` context edits when thinking is off, as it may now be. */
function dropThinkingEdits(body: Record<string, unknown>): void {
  const management = body.context_management as { edits?: unknown } | undefined;
  if (!management || !Array.isArray(management.edits)) return;
  const edits = management.edits.filter((edit) => !String(edit?.type ?? "").startsWith("clear_thinking"));
  if (edits.length === management.edits.length) return;
  if (edits.length === 0) delete body.context_management;
  else body.context_management = { ...management, edits };
}

/** Builds the upstream body for a Claude-format custom account. */
export function claudePassthroughBody(
  request: ClaudeRequest,
  options: ClaudePassthroughBodyOptions,
): Record<string, unknown> {
  const thinking = keepThinking(request, options.azure);
  const messages: ClaudeMessage[] = [];
  request.messages.forEach((message, i) => {
    const content = cleanContent(message.content, thinking);
    const isLast = i === request.messages.length - 1;
    // An emptied turn is rejected upstream; only a final assistant turn (a prefill) may be empty.
    if (content.length === 0 && !(isLast && message.role === "assistant")) return;
    messages.push({ role: message.role, content });
  });
  const body: Record<string, unknown> = { ...request.extra };
  if (options.azure) { for (const field of AZURE_DROPPED_FIELDS) delete body[field]; }
  else if (!thinking && request.thinking && request.thinking.type !== "disabled") dropThinkingEdits(body);
  body.model = options.model;
  body.max_tokens = request.max_tokens;
  body.messages = messages;
  if (request.system.length > 0) body.system = request.system;
  if (request.tools) body.tools = options.azure ? azureTools(request.tools) : request.tools;
  if (request.tool_choice) body.tool_choice = request.tool_choice;
  if (request.thinking && (thinking || request.thinking.type === "disabled")) {
    body.thinking = request.thinking;
  }
  if (request.metadata) body.metadata = request.metadata;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.top_k !== undefined) body.top_k = request.top_k;
  if (request.stop_sequences) body.stop_sequences = request.stop_sequences;
  body.stream = true;
  return body;
}
