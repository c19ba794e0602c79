/**
 * `responsesRequestToClaude`: an OpenAI Responses API request (`POST /v1/responses`, what Codex CLI and the
 * `openai` SDK's `responses.create` send) -> the normalized `ClaudeRequest` every channel consumes, plus the
 * request fields the response object echoes back.
 *
 * Pure. Validated with zod; bad input is `ApiError("invalid_request_error", "<field>: <problem>")`, a 400
 * before any account is chosen. This server keeps no responses, so `previous_response_id` and `conversation`
 * are refused with a 400 (the client must send the whole conversation, as Codex does with `store:false`);
 * `store:true` is accepted but nothing is stored, and the answer says `store:false`. Images, tool-call
 * pairing and reasoning budgets reuse the Chat Completions inbound helpers so both OpenAI APIs agree.
 * Reasoning items come back as Claude thinking blocks only when they carry `encrypted_content` (the thinking
 * signature this server handed out); otherwise they are dropped, as the summary alone cannot be replayed.
 * Hosted tools (`web_search`, `file_search`, `custom` ...) have no Claude form here and are left out.
 */
import { z } from "zod";
import type {
  ClaudeMessage,
  ClaudeRequest,
  ClaudeTool,
  ContentBlock,
  TextBlock,
  ToolChoice,
} from "../claude/request_schema.ts";
import { ApiError } from "../errors.ts";
import { append, fieldPath, imageBlock, thinkingFor } from "../openai/openai_request_to_claude.ts";

const inputText = z.looseObject({ type: z.literal("input_text"), text: z.string() });
const outputText = z.looseObject({ type: z.literal("output_text"), text: z.string() });
const refusal = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });
const inputImage = z.looseObject({
  type: z.literal("input_image"),
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  detail: z.string().nullish(),
});
const inputFile = z.looseObject({
  type: z.literal("input_file"),
  file_data: z.string().nullish(),
  file_id: z.string().nullish(),
  filename: z.string().nullish(),
});
const contentPart = z.discriminatedUnion("type", [inputText, outputText, refusal, inputImage, inputFile]);

const messageItem = z.looseObject({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([z.string(), z.array(contentPart)]),
});
const functionCallItem = z.looseObject({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});
const functionCallOutputItem = z.looseObject({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(contentPart)]),
});
const reasoningItem = z.looseObject({
  type: z.literal("reasoning"),
  summary: z.array(z.looseObject({ type: z.string(), text: z.string() })).nullish(),
  encrypted_content: z.string().nullish(),
});

const functionTool = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), name: z.string().min(1) }),
]);

const textFormat = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    name: z.string().nullish(),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
  }),
]);

/** The Responses request body this proxy accepts; unknown top-level fields are accepted and ignored. */
export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  instructions: z.string().nullish(),
  input: z.union([z.string(), z.array(z.looseObject({ type: z.string().optional() }))]),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  reasoning: z.looseObject({
    effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh"]).nullish(),
    summary: z.string().nullish(),
  }).nullish(),
  text: z.looseObject({ format: textFormat.nullish() }).nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  include: z.array(z.string()).nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** Request fields the Response object repeats, as OpenAI does. */
export interface ResponsesEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  parallel_tool_calls: boolean;
  reasoning: { effort: string | null; summary: string | null };
  temperature: number | null;
  top_p: number | null;
  text: { format: Record<string, unknown> };
  tool_choice: unknown;
  tools: unknown[];
  metadata: Record<string, string>;
  user: string | null;
}

export interface ResponsesInboundRequest {
  request: ClaudeRequest;
  stream: boolean;
  /** Reasoning items carry the thinking signature as `encrypted_content` (`include`). */
  includeEncryptedReasoning: boolean;
  echo: ResponsesEcho;
}

/**
 * `max_tokens` when the client sets no `max_output_tokens`: the Responses API then means "up to the model's
 * limit", and agents such as Codex need room for long tool calls; Claude Code asks for the same amount.
 */
export const RESPONSES_DEFAULT_MAX_TOKENS = 32000;

function invalid(field: string, problem: string): ApiError {
  return new ApiError("invalid_request_error", `${field}: ${problem}`);
}

function parse<T extends z.ZodType>(schema: T, value: unknown, field: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const rest = issue.path.length > 0 ? fieldPath(issue.path) : "";
  const name = !field ? rest || "body" : !rest ? field : `${field}${rest.startsWith("[") ? "" : "."}${rest}`;
  throw invalid(name, issue.message);
}

type Part = z.infer<typeof contentPart>;

function partBlock(part: Part, field: string): ContentBlock {
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: part.text };
    case "refusal":
      return { type: "text", text: part.refusal };
    case "input_image":
      if (!part.image_url) throw invalid(field, "only image_url images are supported (no file_id)");
      return imageBlock(part.image_url, `${field}.image_url`);
    case "input_file": {
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(part.file_data ?? "");
      if (!data) throw invalid(field, "only inline file_data (a base64 data URL) is supported");
      return { type: "document", source: { type: "base64", media_type: data[1]!, data: data[2]! } };
    }
  }
}

function contentBlocks(content: string | Part[], field: string): ContentBlock[] {
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  return content.map((part, i) => partBlock(part, `${field}[${i}]`))
    .filter((block) => block.type !== "text" || block.text.length > 0);
}

function toolInput(args: string, field: string): Record<string, unknown> {
  let input: unknown;
  try {
    input = args.trim() === "" ? {} : JSON.parse(args);
  } catch {
    throw invalid(field, "not valid JSON");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw invalid(field, "must be a JSON object");
  }
  return input as Record<string, unknown>;
}

/** Appends one input item to the conversation (or the system prompt). */
function addItem(item: unknown, field: string, system: TextBlock[], messages: ClaudeMessage[]): void {
  const type = (item as { type?: string }).type ?? "message";
  switch (type) {
    case "message": {
      const m = parse(messageItem, item, field);
      const blocks = contentBlocks(m.content, `${field}.content`);
      if (m.role === "system" || m.role === "developer") {
        for (const block of blocks) {
          if (block.type !== "text") throw invalid(`${field}.content`, `${m.role} messages take text only`);
          system.push({ type: "text", text: block.text });
        }
        return;
      }
      append(messages, m.role, blocks);
      return;
    }
    case "function_call": {
      const call = parse(functionCallItem, item, field);
      append(messages, "assistant", [{
        type: "tool_use",
        id: call.call_id,
        name: call.name,
        input: toolInput(call.arguments, `${field}.arguments`),
      }]);
      return;
    }
    case "function_call_output": {
      const out = parse(functionCallOutputItem, item, field);
      const content = typeof out.output === "string"
        ? [{ type: "text" as const, text: out.output }]
        : contentBlocks(out.output, `${field}.output`);
      append(messages, "user", [{ type: "tool_result", tool_use_id: out.call_id, content }]);
      return;
    }
    case "reasoning": {
      const r = parse(reasoningItem, item, field);
      // Only this server's own thinking (its signature came back as encrypted_content) is replayed.
      if (!r.encrypted_content) return;
      const thinking = (r.summary ?? []).map((s) => s.text).join("");
      append(messages, "assistant", [{ type: "thinking", thinking, signature: r.encrypted_content }]);
      return;
    }
    case "item_reference":
      throw invalid(field, "item_reference needs stored responses, which this server does not keep");
    default:
      throw invalid(`${field}.type`, `unsupported input item type '${type}'`);
  }
}

function claudeToolChoice(body: ResponsesRequest): ToolChoice | undefined {
  const choice = body.tool_choice;
  const noParallel = body.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === "none") return { type: "none" };
  if (choice === "required") return { type: "any", ...noParallel };
  if (typeof choice === "object" && choice) return { type: "tool", name: choice.name, ...noParallel };
  if (choice === "auto" || body.parallel_tool_calls === false) return { type: "auto", ...noParallel };
  return undefined;
}

/** Claude has no response_format: a JSON format becomes an instruction at the end of the system prompt. */
function formatInstruction(format: z.infer<typeof textFormat> | null | undefined): string | null {
  if (!format || format.type === "text") return null;
  if (format.type === "json_object") return "Respond with a single valid JSON object and nothing else.";
  return `Respond with a single valid JSON value and nothing else. It must match this JSON Schema${
    format.name ? ` (${format.name})` : ""
  }:\n${JSON.stringify(format.schema)}`;
}

/** Validates a Responses API body and converts it to a Claude request. */
export function responsesRequestToClaude(body: unknown): ResponsesInboundRequest {
  const input = parse(responsesRequestSchema, body, "");
  if (input.previous_response_id) {
    throw invalid(
      "previous_response_id",
      "this server does not store responses; send the whole conversation in input instead",
    );
  }
  if (input.conversation != null) {
    throw invalid("conversation", "this server does not store conversations; send the whole conversation");
  }
  if (input.background) throw invalid("background", "background responses are not supported");
  const system: TextBlock[] = [];
  if (input.instructions) system.push({ type: "text", text: input.instructions });
  const messages: ClaudeMessage[] = [];
  if (typeof input.input === "string") append(messages, "user", [{ type: "text", text: input.input }]);
  else input.input.forEach((item, i) => addItem(item, `input[${i}]`, system, messages));
  if (messages.length === 0) throw invalid("input", "at least one user or assistant message is required");
  const format = formatInstruction(input.text?.format);
  if (format) system.push({ type: "text", text: format });

  const maxTokens = input.max_output_tokens ?? RESPONSES_DEFAULT_MAX_TOKENS;
  const request: ClaudeRequest = {
    model: input.model,
    max_tokens: maxTokens,
    messages,
    system,
    stream: input.stream ?? false,
    extra: {},
  };
  const functions = (input.tools ?? []).flatMap((entry, i) =>
    entry.type === "function" ? [parse(functionTool, entry, `tools[${i}]`)] : []
  );
  if (functions.length > 0) {
    request.tools = functions.map((f): ClaudeTool => {
      const out: ClaudeTool = {
        name: f.name,
        input_schema: f.parameters ?? { type: "object", properties: {} },
      };
      if (f.description) out.description = f.description;
      return out;
    });
    const choice = claudeToolChoice(input);
    if (choice) request.tool_choice = choice;
  } else if (typeof input.tool_choice === "object" && input.tool_choice) {
    throw invalid("tool_choice", `no function tool named '${input.tool_choice.name}'`);
  }
  const thinking = thinkingFor(input.reasoning?.effort, maxTokens);
  if (thinking) request.thinking = thinking;
  if (input.temperature != null) request.temperature = input.temperature;
  if (input.top_p != null) request.top_p = input.top_p;
  if (input.user) request.metadata = { user_id: input.user };

  return {
    request,
    stream: input.stream ?? false,
    includeEncryptedReasoning: input.include?.includes("reasoning.encrypted_content") ?? false,
    echo: {
      instructions: input.instructions ?? null,
      max_output_tokens: input.max_output_tokens ?? null,
      parallel_tool_calls: input.parallel_tool_calls ?? true,
      reasoning: { effort: input.reasoning?.effort ?? null, summary: input.reasoning?.summary ?? null },
      temperature: input.temperature ?? null,
      top_p: input.top_p ?? null,
      text: { format: input.text?.format ?? { type: "text" } },
      tool_choice: input.tool_choice ?? "auto",
      tools: functions,
      metadata: input.metadata ?? {},
      user: input.user ?? null,
    },
  };
}
