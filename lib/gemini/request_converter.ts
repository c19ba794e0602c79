/**
 * Converts a normalized Claude request into the Code Assist (Antigravity) `streamGenerateContent` envelope.
 *
 * Pure: no fetch, no clock, no configuration; ids come in through `options`. The client's
 * `temperature`, `top_p`, `top_k`,
 * `stop_sequences` and `max_tokens` are sent as given (no house defaults), `tool_choice` becomes a
 * `toolConfig`, all functions go in one Tool, schemas are cleaned (`schema_cleaner.ts`), tool results keep
 * all their text, their error flag and their images, and the session id is per conversation.
 *
 * Thought signatures: a thinking block goes out as a thought part with its signature; a signature
 * this server made for another backend, or none, is replaced by `SKIP_THOUGHT_SIGNATURE`. A thinking block
 * with no text is a signature that arrived on the following part, so it is put back on that part. A
 * `tool_use` id may carry the signature of its `functionCall` (`thought_signature.ts`); the first call of
 * each model turn without one gets the skip value, as Google's own client does.
 */
import type {
  ClaudeRequest,
  ClaudeTool,
  ContentBlock,
  ToolChoice,
  ToolResultBlock,
} from "../claude/request_schema.ts";
import { ThinkingSigner } from "../claude/thinking_signer.ts";
import { cleanSchema } from "./schema_cleaner.ts";
import { decodeToolUseId, SKIP_THOUGHT_SIGNATURE } from "./thought_signature.ts";

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  functionCall?: { id?: string; name: string; args: Record<string, unknown> };
  functionResponse?: { id?: string; name: string; response: Record<string, unknown> };
}

export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export interface GeminiGenerationConfig {
  maxOutputTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stopSequences?: string[];
  thinkingConfig?: { includeThoughts: boolean; thinkingBudget?: number };
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { role: "user"; parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: {
    functionCallingConfig: { mode: "AUTO" | "ANY" | "NONE" | "VALIDATED"; allowedFunctionNames?: string[] };
  };
  generationConfig: GeminiGenerationConfig;
  sessionId: string;
}

/** The body POSTed to `v1internal:streamGenerateContent`. */
export interface GeminiEnvelope {
  model: string;
  project: string;
  request: GeminiRequest;
  requestId?: string;
  userAgent: string;
  requestType: "agent";
}

export interface ClaudeToGeminiOptions {
  /** Upstream model name (already mapped). */
  model: string;
  /** Code Assist project id (`account.other.project`). */
  project: string;
  /** Per-conversation session id (see `geminiSessionId`). */
  sessionId: string;
  /** Per-request id; Antigravity sends `agent-<uuid>`. */
  requestId?: string;
  /** The envelope's `userAgent` field (Antigravity sends `antigravity`). */
  userAgent?: string;
}

/** Text for a model turn that only held thinking: Gemini refuses a model turn without a visible part. */
const THINKING_ONLY_FILLER = "(continued)";

/**
 * A stable Code Assist session id for a conversation: Antigravity sends a signed 64-bit decimal, so the
 * conversation id is hashed (FNV-1a) into that shape instead of being sent raw.
 */
export function geminiSessionId(conversationId: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(conversationId)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, hash).toString();
}

function toolResultText(block: ToolResultBlock): { text: string; images: GeminiPart[] } {
  if (typeof block.content === "string") return { text: block.content, images: [] };
  const texts: string[] = [];
  const images: GeminiPart[] = [];
  for (const item of block.content ?? []) {
    const part = item as Record<string, unknown>;
    if (part.type === "text" && typeof part.text === "string") texts.push(part.text);
    else if (part.type === "image") {
      const image = imagePart(part);
      if (image) images.push(image);
      else texts.push("[image omitted: only base64 images are supported]");
    } else texts.push(JSON.stringify(part));
  }
  return { text: texts.join("\n"), images };
}

function imagePart(block: Record<string, unknown>): GeminiPart | undefined {
  const source = block.source as Record<string, unknown> | undefined;
  if (source?.type === "base64" && typeof source.data === "string") {
    const mimeType = typeof source.media_type === "string" && source.media_type
      ? source.media_type
      : "image/png";
    return { inlineData: { mimeType, data: source.data } };
  }
  return undefined;
}

function documentParts(block: Record<string, unknown>): GeminiPart[] {
  const source = block.source as Record<string, unknown> | undefined;
  if (source?.type === "base64" && typeof source.data === "string") {
    return [{ inlineData: { mimeType: String(source.media_type ?? "application/pdf"), data: source.data } }];
  }
  if (source?.type === "text" && typeof source.data === "string") return [{ text: source.data }];
  return [{ text: "[document omitted: unsupported source type]" }];
}

/** The signature to send for a thinking block: its own, or the skip value when it is not a Gemini one. */
function replayableSignature(signature: string | undefined): string {
  if (!signature || ThinkingSigner.isOurs(signature)) return SKIP_THOUGHT_SIGNATURE;
  return signature;
}

function convertBlocks(
  blocks: ContentBlock[],
  role: "user" | "model",
  toolNames: Map<string, string>,
): GeminiPart[] {
  const parts: GeminiPart[] = [];
  // A signature from an empty thinking block belongs to the next visible part (see the file comment).
  let pendingSignature: string | undefined;
  const attachPending = (part: GeminiPart): GeminiPart => {
    if (pendingSignature !== undefined && part.thoughtSignature === undefined) {
      part.thoughtSignature = pendingSignature;
    }
    pendingSignature = undefined;
    return part;
  };
  for (const block of blocks) {
    const raw = block as Record<string, unknown>;
    switch (block.type) {
      case "text":
        if (block.text.length > 0) {
          parts.push(role === "model" ? attachPending({ text: block.text }) : { text: block.text });
        }
        break;
      case "thinking":
        if (role !== "model") break;
        if (block.thinking.length === 0) {
          if (block.signature && !ThinkingSigner.isOurs(block.signature)) pendingSignature = block.signature;
          break;
        }
        parts.push({
          text: block.thinking,
          thought: true,
          thoughtSignature: replayableSignature(block.signature),
        });
        break;
      case "image": {
        const image = imagePart(raw);
        parts.push(image ?? { text: "[image omitted: only base64 images are supported]" });
        break;
      }
      case "document":
        parts.push(...documentParts(raw));
        break;
      case "tool_use": {
        const { callId, signature } = decodeToolUseId(block.id);
        const part: GeminiPart = { functionCall: { id: callId, name: block.name, args: block.input ?? {} } };
        if (signature) part.thoughtSignature = signature;
        parts.push(role === "model" ? attachPending(part) : part);
        break;
      }
      case "tool_result": {
        const { callId } = decodeToolUseId(block.tool_use_id);
        const ownName = typeof raw.name === "string" && raw.name.length > 0 ? raw.name : undefined;
        const name = ownName ?? toolNames.get(block.tool_use_id) ?? "unknown_function";
        const { text, images } = toolResultText(block);
        const response = block.is_error === true ? { error: text } : { output: text };
        parts.push({ functionResponse: { id: callId, name, response } }, ...images);
        break;
      }
      default:
        // redacted_thinking, server tool blocks, search results: nothing Gemini can take.
        break;
    }
  }
  return parts;
}

function convertContents(request: ClaudeRequest): GeminiContent[] {
  const toolNames = new Map<string, string>();
  for (const message of request.messages) {
    for (const block of message.content) if (block.type === "tool_use") toolNames.set(block.id, block.name);
  }
  const contents: GeminiContent[] = [];
  for (const message of request.messages) {
    const role = message.role === "user" ? "user" : "model";
    const parts = convertBlocks(message.content, role, toolNames);
    if (role === "model") {
      const visible = parts.some((p) => p.thought !== true);
      if (!visible && parts.length > 0) parts.push({ text: THINKING_ONLY_FILLER });
    }
    if (parts.length === 0) continue;
    const last = contents.at(-1);
    // Gemini wants turns to alternate; two user messages in a row are one turn.
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  }
  for (const content of contents) {
    if (content.role !== "model") continue;
    const firstCall = content.parts.find((p) => p.functionCall !== undefined);
    if (firstCall && firstCall.thoughtSignature === undefined) {
      firstCall.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
    }
  }
  return contents;
}

function isFunctionTool(tool: ClaudeTool): boolean {
  // Anthropic server tools (`web_search_20250305`, `bash_20250124`, ...) have a versioned type and no schema.
  return tool.type === undefined || tool.type === "custom";
}

function convertTools(tools: ClaudeTool[] | undefined): GeminiRequest["tools"] {
  const declarations: GeminiFunctionDeclaration[] = [];
  for (const tool of tools ?? []) {
    if (!isFunctionTool(tool)) continue;
    const declaration: GeminiFunctionDeclaration = { name: tool.name };
    if (tool.description) declaration.description = tool.description;
    const parameters = cleanSchema(tool.input_schema ?? {});
    // Gemini rejects an OBJECT schema with no properties; a tool without inputs has no `parameters`.
    const properties = parameters.properties as Record<string, unknown> | undefined;
    if (properties && Object.keys(properties).length > 0) {
      declaration.parameters = { ...parameters, type: "object" };
    }
    declarations.push(declaration);
  }
  return declarations.length > 0 ? [{ functionDeclarations: declarations }] : undefined;
}

function convertToolChoice(choice: ToolChoice | undefined): NonNullable<GeminiRequest["toolConfig"]> {
  switch (choice?.type) {
    case "any":
      return { functionCallingConfig: { mode: "ANY" } };
    case "tool":
      return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.name] } };
    case "none":
      return { functionCallingConfig: { mode: "NONE" } };
    default:
      // `auto` or absent: the model chooses; VALIDATED (what Antigravity sends) also checks calls against the schema.
      return { functionCallingConfig: { mode: "VALIDATED" } };
  }
}

function generationConfig(request: ClaudeRequest): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = { maxOutputTokens: request.max_tokens };
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.top_p !== undefined) config.topP = request.top_p;
  if (request.top_k !== undefined) config.topK = request.top_k;
  if (request.stop_sequences && request.stop_sequences.length > 0) {
    config.stopSequences = [...request.stop_sequences];
  }
  const thinking = request.thinking;
  if (thinking?.type === "enabled") {
    // Claude counts thinking inside max_tokens and requires budget < max_tokens; keep the client's limit.
    const budget = Math.min(thinking.budget_tokens, Math.max(0, request.max_tokens - 1));
    config.thinkingConfig = { includeThoughts: true, thinkingBudget: budget };
  } else if (thinking?.type === "adaptive") {
    config.thinkingConfig = { includeThoughts: true, thinkingBudget: -1 };
  } else if (thinking?.type === "disabled") {
    config.thinkingConfig = { includeThoughts: false };
  }
  return config;
}

/** Builds the Code Assist envelope for a Claude request (see the file comment). */
export function claudeToGemini(request: ClaudeRequest, options: ClaudeToGeminiOptions): GeminiEnvelope {
  const inner: GeminiRequest = {
    contents: convertContents(request),
    generationConfig: generationConfig(request),
    sessionId: options.sessionId,
  };
  const systemParts = request.system.filter((b) => b.text.length > 0).map((b) => ({ text: b.text }));
  if (systemParts.length > 0) inner.systemInstruction = { role: "user", parts: systemParts };
  const tools = convertTools(request.tools);
  if (tools) {
    inner.tools = tools;
    inner.toolConfig = convertToolChoice(request.tool_choice);
  }
  const envelope: GeminiEnvelope = {
    model: options.model,
    project: options.project,
    request: inner,
    userAgent: options.userAgent ?? "antigravity",
    requestType: "agent",
  };
  if (options.requestId) envelope.requestId = options.requestId;
  return envelope;
}
