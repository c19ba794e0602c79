/**
 * `claudeToOpenAIRequest`: a normalized Claude request -> the body of an OpenAI Chat Completions call.
 *
 * Pure (no fetch, no clock, no config). It is not the URL or header logic (`custom_channel.ts`). What it
 * guarantees:
 * - tool messages come right after the assistant turn that called them (first in the next user turn), and
 *   the rest of that turn (text, images, images returned by tools) follows as ONE multimodal user message;
 *   OpenAI rejects anything between an assistant `tool_calls` message and its `tool` answers;
 * - no assistant message with `content:null` and no tool calls is ever sent;
 * - `tool_choice`, `parallel_tool_calls`, `stop`, `top_p` are kept; reasoning models get
 *   `max_completion_tokens` and, when supported, `reasoning_effort` in place of Claude's `thinking`.
 * Thinking is requested through `reasoning_effort`, never through a hint injected into the prompt.
 */
import type { ClaudeRequest, ContentBlock, ToolResultBlock } from "../claude/request_schema.ts";
import type {
  OpenAIChatRequestBody,
  OpenAIContentPart,
  OpenAIMessage,
  OpenAIReasoningEffort,
  OpenAITool,
  OpenAIToolCall,
  OpenAIToolChoice,
} from "../openai/openai_types.ts";

export interface ClaudeToOpenAIRequestOptions {
  /** The upstream model name. */
  model: string;
  /** Send `reasoning_effort` for Claude `thinking`. @default true for o-series and gpt-5 style names */
  supportsReasoningEffort?: boolean | undefined;
  /** Send `max_completion_tokens` instead of `max_tokens`. @default true for o-series and gpt-5 style names */
  useMaxCompletionTokens?: boolean | undefined;
}

/** OpenAI's reasoning models reject `max_tokens` and accept `reasoning_effort`. */
const REASONING_MODEL = /^(?:[\w.-]+\/)?(?:o\d|gpt-5)/i;

/** OpenAI accepts at most four stop sequences. */
const MAX_STOP = 4;

const BILLING_LINE = /^\s*x-anthropic-billing-header:.*$/gim;

/** Whether a model name looks like an OpenAI reasoning model (o1, o3, o4-mini, gpt-5 ...). */
export function isOpenAIReasoningModel(model: string): boolean {
  return REASONING_MODEL.test(model);
}

function systemText(request: ClaudeRequest): string {
  const text = request.system.map((block) => block.text).join("\n\n");
  // Normalization drops a billing block; a client may still have pasted the line inside a larger block.
  return text.replace(BILLING_LINE, "").replace(/\n\s*\n(\s*\n)+/g, "\n\n").trim();
}

function imagePart(block: Extract<ContentBlock, { type: "image" }>): OpenAIContentPart {
  const source = block.source;
  const url = source.type === "base64"
    ? `data:${source.media_type || "image/png"};base64,${source.data}`
    : source.url;
  return { type: "image_url", image_url: { url } };
}

function documentParts(block: Extract<ContentBlock, { type: "document" }>): OpenAIContentPart[] {
  const source = block.source as Record<string, unknown>;
  if (source.type === "text" && typeof source.data === "string") return [{ type: "text", text: source.data }];
  if (source.type === "base64" && typeof source.data === "string") {
    const mediaType = typeof source.media_type === "string" ? source.media_type : "application/pdf";
    const title = typeof block.title === "string" ? block.title : "document.pdf";
    return [{
      type: "file",
      file: { file_data: `data:${mediaType};base64,${source.data}`, filename: title },
    }];
  }
  if (source.type === "url" && typeof source.url === "string") return [{ type: "text", text: source.url }];
  return [];
}

/** The tool message text and the images a tool returned (OpenAI tool messages hold text only). */
function toolResult(block: ToolResultBlock): { text: string; images: OpenAIContentPart[] } {
  const texts: string[] = [];
  const images: OpenAIContentPart[] = [];
  if (typeof block.content === "string") texts.push(block.content);
  else {
    for (const item of block.content ?? []) {
      if (item.type === "text" && typeof item.text === "string") texts.push(item.text);
      else if (item.type === "image") {
        images.push(imagePart(item as Extract<ContentBlock, { type: "image" }>));
      } else if (item.type === "document") {
        for (const part of documentParts(item as Extract<ContentBlock, { type: "document" }>)) {
          if (part.type === "text") texts.push(part.text);
          else images.push(part);
        }
      }
    }
  }
  let text = texts.join("\n");
  if (images.length > 0) {
    text += `${text ? "\n" : ""}(${images.length} attachment(s) follow in the next user message)`;
  }
  // Claude's is_error has no OpenAI field; saying it in the text keeps the model from trusting the output.
  if (block.is_error) text = `Error: ${text}`;
  return { text, images };
}

function userMessages(content: ContentBlock[]): OpenAIMessage[] {
  const tools: OpenAIMessage[] = [];
  const parts: OpenAIContentPart[] = [];
  const toolImages: OpenAIContentPart[] = [];
  for (const block of content) {
    switch (block.type) {
      case "tool_result": {
        const result = toolResult(block);
        tools.push({ role: "tool", tool_call_id: block.tool_use_id, content: result.text });
        if (result.images.length > 0) {
          toolImages.push({ type: "text", text: `Attachments from tool result ${block.tool_use_id}:` });
          toolImages.push(...result.images);
        }
        break;
      }
      case "text":
        if (block.text.length > 0) parts.push({ type: "text", text: block.text });
        break;
      case "image":
        parts.push(imagePart(block));
        break;
      case "document":
        parts.push(...documentParts(block));
        break;
      default:
        // thinking, tool_use and server-tool blocks have no meaning in a user turn for OpenAI.
        break;
    }
  }
  const all = [...toolImages, ...parts];
  if (all.length === 0) return tools;
  // Plain strings where possible: several OpenAI-compatible servers accept only string user content.
  const onlyText = all.every((part) => part.type === "text");
  const userContent = onlyText ? all.map((part) => (part as { text: string }).text).join("\n") : all;
  return [...tools, { role: "user", content: userContent }];
}

function assistantMessage(content: ContentBlock[]): OpenAIMessage | undefined {
  const texts: string[] = [];
  const calls: OpenAIToolCall[] = [];
  for (const block of content) {
    if (block.type === "text") texts.push(block.text);
    else if (block.type === "tool_use") {
      calls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // Thinking blocks are dropped: OpenAI-format upstreams do not take reasoning back, and another
    // backend's signatures mean nothing to them.
  }
  const text = texts.join("\n");
  if (calls.length > 0) return { role: "assistant", content: text.trim() ? text : null, tool_calls: calls };
  if (!text.trim()) return undefined;
  return { role: "assistant", content: text };
}

function convertTools(request: ClaudeRequest): OpenAITool[] {
  const tools: OpenAITool[] = [];
  for (const tool of request.tools ?? []) {
    // Anthropic-defined tools (`bash_20250124`, `web_search_...`) carry no schema an OpenAI model can call.
    if (tool.type !== undefined && tool.type !== "custom" && tool.input_schema === undefined) continue;
    const fn: OpenAITool["function"] = {
      name: tool.name,
      parameters: tool.input_schema ?? { type: "object", properties: {} },
    };
    if (tool.description) fn.description = tool.description;
    tools.push({ type: "function", function: fn });
  }
  return tools;
}

function toolChoice(request: ClaudeRequest): OpenAIToolChoice | undefined {
  const choice = request.tool_choice;
  if (!choice) return undefined;
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name } };
  }
}

function reasoningEffort(request: ClaudeRequest): OpenAIReasoningEffort | undefined {
  const thinking = request.thinking;
  if (!thinking || thinking.type === "disabled") return undefined;
  if (thinking.type === "enabled") {
    const budget = thinking.budget_tokens;
    if (budget <= 4096) return "low";
    if (budget <= 16384) return "medium";
    return "high";
  }
  // Adaptive thinking: Claude Code states the effort it wants in `output_config.effort`.
  const config = request.extra.output_config as { effort?: unknown } | undefined;
  const effort = config?.effort;
  if (effort === "low" || effort === "medium" || effort === "high") return effort;
  if (effort === "max") return "high";
  return "medium";
}

/** Converts a normalized Claude request to an OpenAI Chat Completions streaming body. */
export function claudeToOpenAIRequest(
  request: ClaudeRequest,
  options: ClaudeToOpenAIRequestOptions,
): OpenAIChatRequestBody {
  const reasoningModel = isOpenAIReasoningModel(options.model);
  const messages: OpenAIMessage[] = [];
  const system = systemText(request);
  if (system) messages.push({ role: "system", content: system });
  for (const message of request.messages) {
    if (message.role === "user") messages.push(...userMessages(message.content));
    else {
      const assistant = assistantMessage(message.content);
      if (assistant) messages.push(assistant);
    }
  }
  const body: OpenAIChatRequestBody = {
    model: options.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (options.useMaxCompletionTokens ?? reasoningModel) body.max_completion_tokens = request.max_tokens;
  else body.max_tokens = request.max_tokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.stop_sequences && request.stop_sequences.length > 0) {
    body.stop = request.stop_sequences.slice(0, MAX_STOP);
  }
  const tools = convertTools(request);
  // OpenAI rejects tool_choice and parallel_tool_calls without tools.
  if (tools.length > 0) {
    body.tools = tools;
    const choice = toolChoice(request);
    if (choice) body.tool_choice = choice;
    const tc = request.tool_choice;
    if (tc && tc.type !== "none" && tc.disable_parallel_tool_use === true) body.parallel_tool_calls = false;
  }
  if (options.supportsReasoningEffort ?? reasoningModel) {
    const effort = reasoningEffort(request);
    if (effort) body.reasoning_effort = effort;
  }
  return body;
}
