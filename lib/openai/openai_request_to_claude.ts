/**
 * `openAIRequestToClaude`: an OpenAI Chat Completions request (the OpenAI-compatible inbound API) -> the
 * normalized `ClaudeRequest` every channel consumes, plus the two things only the OpenAI side needs
 * (`stream` and `stream_options.include_usage`).
 *
 * Pure. The body is validated with `openAIChatRequestSchema` (zod); bad input becomes
 * `ApiError("invalid_request_error", "<field>: <problem>")`, so the route answers 400 before choosing an
 * account. Unknown fields (`frequency_penalty`, `seed`, `logit_bias` ...) are accepted and ignored, since
 * Claude has no equivalent. It is not the response side (`claude_to_openai_chunks.ts`,
 * `openai_response_from_claude.ts`). `tool_choice` and `reasoning_effort` map as the custom
 * backend maps them, read in the other direction. The image, turn-merging, field-path and effort
 * helpers are exported for the Responses API inbound side, so both OpenAI APIs convert alike.
 */
import { z } from "zod";
import { DEFAULT_MAX_TOKENS } from "../claude/normalize_request.ts";
import type {
  ClaudeMessage,
  ClaudeRequest,
  ClaudeTool,
  ContentBlock,
  TextBlock,
  ThinkingConfig,
  ToolChoice,
} from "../claude/request_schema.ts";
import { ApiError } from "../errors.ts";

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.union([z.string(), z.looseObject({ url: z.string().min(1), detail: z.string().optional() })]),
});
const filePart = z.looseObject({
  type: z.literal("file"),
  file: z.looseObject({
    file_data: z.string().optional(),
    file_id: z.string().optional(),
    filename: z.string().optional(),
  }),
});
const refusalPart = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });

const userContent = z.union([
  z.string(),
  z.array(z.discriminatedUnion("type", [textPart, imagePart, filePart])),
]);
const textContent = z.union([z.string(), z.array(textPart)]);

const toolCall = z.looseObject({
  id: z.string().min(1),
  type: z.literal("function").optional(),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion("role", [
  z.looseObject({ role: z.literal("system"), content: textContent }),
  z.looseObject({ role: z.literal("developer"), content: textContent }),
  z.looseObject({ role: z.literal("user"), content: userContent }),
  z.looseObject({
    role: z.literal("assistant"),
    content: z.union([z.string(), z.array(z.discriminatedUnion("type", [textPart, refusalPart]))]).nullish(),
    tool_calls: z.array(toolCall).nullish(),
  }),
  z.looseObject({ role: z.literal("tool"), tool_call_id: z.string().min(1), content: textContent }),
]);

const tool = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string().min(1) }) }),
]);

/** The OpenAI Chat Completions request body this proxy accepts. */
export const openAIChatRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  reasoning_effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).nullish(),
  user: z.string().nullish(),
  n: z.literal(1).nullish(),
});

export type OpenAIChatRequest = z.infer<typeof openAIChatRequestSchema>;

/** The converted request and the OpenAI-only switches the response side needs. */
export interface OpenAIInboundRequest {
  request: ClaudeRequest;
  stream: boolean;
  includeUsage: boolean;
}

/** Thinking budgets for OpenAI's effort levels; Claude's minimum budget is 1024. */
const EFFORT_BUDGET: Record<string, number> = {
  minimal: 1024,
  low: 4096,
  medium: 8192,
  high: 16384,
  xhigh: 24576,
  max: 32000,
};

const MIN_THINKING_BUDGET = 1024;

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  return out || "body";
}

function invalid(field: string, problem: string): ApiError {
  return new ApiError("invalid_request_error", `${field}: ${problem}`);
}

function texts(content: string | Array<{ text: string }>): string[] {
  return typeof content === "string" ? [content] : content.map((part) => part.text);
}

export function imageBlock(url: string, field: string): ContentBlock {
  const data = DATA_URL.exec(url);
  if (data) return { type: "image", source: { type: "base64", media_type: data[1]!, data: data[2]! } };
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  throw invalid(field, "image_url must be an http(s) URL or a base64 data URL");
}

function userBlocks(content: z.infer<typeof userContent>, field: string): ContentBlock[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return content.map((part, i): ContentBlock => {
    const where = `${field}[${i}]`;
    if (part.type === "text") return { type: "text", text: part.text };
    if (part.type === "image_url") {
      return imageBlock(
        typeof part.image_url === "string" ? part.image_url : part.image_url.url,
        `${where}.image_url`,
      );
    }
    const data = DATA_URL.exec(part.file.file_data ?? "");
    if (!data) throw invalid(`${where}.file`, "only inline file_data (a base64 data URL) is supported");
    return { type: "document", source: { type: "base64", media_type: data[1]!, data: data[2]! } };
  });
}

function assistantBlocks(
  entry: Extract<z.infer<typeof message>, { role: "assistant" }>,
  field: string,
): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  const content = entry.content;
  if (typeof content === "string") {
    if (content.length > 0) blocks.push({ type: "text", text: content });
  } else if (content) {
    for (const part of content) {
      const text = part.type === "text" ? part.text : part.refusal;
      if (text.length > 0) blocks.push({ type: "text", text });
    }
  }
  for (const [i, call] of (entry.tool_calls ?? []).entries()) {
    let input: unknown;
    try {
      input = call.function.arguments.trim() === "" ? {} : JSON.parse(call.function.arguments);
    } catch {
      throw invalid(`${field}.tool_calls[${i}].function.arguments`, "not valid JSON");
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw invalid(`${field}.tool_calls[${i}].function.arguments`, "must be a JSON object");
    }
    blocks.push({
      type: "tool_use",
      id: call.id,
      name: call.function.name,
      input: input as Record<string, unknown>,
    });
  }
  return blocks;
}

/** Appends blocks to the conversation, merging consecutive turns of one role (Claude wants alternation). */
export function append(messages: ClaudeMessage[], role: "user" | "assistant", blocks: ContentBlock[]): void {
  if (blocks.length === 0) return;
  const last = messages[messages.length - 1];
  if (last?.role !== role) {
    messages.push({ role, content: blocks });
    return;
  }
  // Tool results must open a user turn: a tool message after a user message goes before its text.
  if (role === "user" && blocks[0]?.type === "tool_result") {
    const firstOther = last.content.findIndex((block) => block.type !== "tool_result");
    if (firstOther >= 0) {
      last.content.splice(firstOther, 0, ...blocks);
      return;
    }
  }
  last.content.push(...blocks);
}

function claudeToolChoice(body: OpenAIChatRequest): ToolChoice | undefined {
  const choice = body.tool_choice;
  const noParallel = body.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === "none") return { type: "none" };
  if (choice === "required") return { type: "any", ...noParallel };
  if (typeof choice === "object" && choice) {
    return { type: "tool", name: choice.function.name, ...noParallel };
  }
  if (choice === "auto" || body.parallel_tool_calls === false) return { type: "auto", ...noParallel };
  return undefined;
}

export function thinkingFor(
  effort: string | null | undefined,
  maxTokens: number,
): ThinkingConfig | undefined {
  if (!effort) return undefined;
  if (effort === "none") return { type: "disabled" };
  // Claude needs budget_tokens < max_tokens; OpenAI's limit also counts reasoning, so fit it inside.
  const budget = Math.min(EFFORT_BUDGET[effort] ?? 8192, maxTokens - 1);
  if (budget < MIN_THINKING_BUDGET) return undefined;
  return { type: "enabled", budget_tokens: budget };
}

/** Validates an OpenAI Chat Completions body and converts it to a Claude request. */
export function openAIRequestToClaude(body: unknown): OpenAIInboundRequest {
  const parsed = openAIChatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(fieldPath(issue.path), issue.message);
  }
  const input = parsed.data;
  const system: TextBlock[] = [];
  const messages: ClaudeMessage[] = [];
  for (const [i, entry] of input.messages.entries()) {
    const field = `messages[${i}]`;
    switch (entry.role) {
      case "system":
      case "developer":
        for (const text of texts(entry.content)) if (text.length > 0) system.push({ type: "text", text });
        break;
      case "user":
        append(messages, "user", userBlocks(entry.content, `${field}.content`));
        break;
      case "assistant":
        append(messages, "assistant", assistantBlocks(entry, field));
        break;
      case "tool": {
        const content: TextBlock[] = texts(entry.content).map((text) => ({ type: "text", text }));
        append(messages, "user", [{ type: "tool_result", tool_use_id: entry.tool_call_id, content }]);
        break;
      }
    }
  }
  if (messages.length === 0) throw invalid("messages", "at least one user or assistant message is required");
  const maxTokens = input.max_completion_tokens ?? input.max_tokens ?? DEFAULT_MAX_TOKENS;
  const request: ClaudeRequest = {
    model: input.model,
    max_tokens: maxTokens,
    messages,
    system,
    stream: input.stream ?? false,
    extra: {},
  };
  if (input.tools && input.tools.length > 0) {
    request.tools = input.tools.map((entry): ClaudeTool => {
      const out: ClaudeTool = {
        name: entry.function.name,
        input_schema: entry.function.parameters ?? { type: "object", properties: {} },
      };
      if (entry.function.description) out.description = entry.function.description;
      return out;
    });
    const choice = claudeToolChoice(input);
    if (choice) request.tool_choice = choice;
  }
  const thinking = thinkingFor(input.reasoning_effort, maxTokens);
  if (thinking) request.thinking = thinking;
  if (input.temperature != null) request.temperature = input.temperature;
  if (input.top_p != null) request.top_p = input.top_p;
  if (input.stop != null) request.stop_sequences = typeof input.stop === "string" ? [input.stop] : input.stop;
  if (input.user) request.metadata = { user_id: input.user };
  return {
    request,
    stream: input.stream ?? false,
    includeUsage: input.stream_options?.include_usage === true,
  };
}
