/**
 * `historyDrafts`: the Claude conversation turned into Amazon Q history entries in the making (drafts),
 * for `claudeToAmazonQ`. Content blocks become the fields Amazon Q has (text, tool results, images,
 * documents) or text replayed in the turn; same-role runs are merged without losing images or tool
 * results; history starts with a user entry; every tool call is answered in the next user entry and
 * results without a call become text, because the upstream rejects a mismatch
 * (`TOOL_USE_RESULT_MISMATCH`). Pure: no clock, no ids, no I/O.
 */
import type { ClaudeMessage, ContentBlock, ImageBlock, ToolResultBlock } from "../claude/request_schema.ts";
import type {
  AmazonQDocument,
  AmazonQImage,
  AmazonQToolResult,
  AmazonQToolResultContent,
} from "./amazonq_request_body.ts";

const EMPTY_RESULT_OK = "Command executed successfully";
const EMPTY_RESULT_ERROR = "Tool use was cancelled by the user";
const MISSING_RESULT = "No result was recorded for this tool call.";
const PREAMBLE_ACK = "Understood.";
const HISTORY_START = "(The beginning of this conversation is not shown.)";
const PREFILL_CONTINUE =
  "Continue your previous reply exactly where it stopped, without repeating any of it.";
const IMAGE_FORMATS = new Set(["png", "jpeg", "gif", "webp"]);
const DOCUMENT_FORMATS: Record<string, string> = {
  "application/pdf": "pdf",
  "text/csv": "csv",
  "text/html": "html",
  "text/markdown": "md",
  "text/plain": "txt",
  "application/msword": "doc",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "application/vnd.ms-excel": "xls",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
};

export interface UserDraft {
  role: "user";
  texts: string[];
  results: AmazonQToolResult[];
  images: AmazonQImage[];
  documents: AmazonQDocument[];
}

export interface AssistantDraft {
  role: "assistant";
  texts: string[];
  toolUses: Array<{ toolUseId: string; name: string; input: Record<string, unknown> }>;
}

export type Draft = UserDraft | AssistantDraft;

export const userDraft = (texts: string[] = []): UserDraft => ({
  role: "user",
  texts,
  results: [],
  images: [],
  documents: [],
});

function imageOf(block: ImageBlock): AmazonQImage | string {
  const source = block.source;
  if (source.type !== "base64") return `[image: ${String(source.url)}]`;
  const sub = source.media_type.toLowerCase().split("/").pop() ?? "png";
  const format = sub === "jpg" ? "jpeg" : sub;
  if (!IMAGE_FORMATS.has(format)) return `[image of unsupported type ${source.media_type} omitted]`;
  return { format: format as AmazonQImage["format"], source: { bytes: source.data } };
}

function addMedia(draft: UserDraft, block: ContentBlock, index: number): string | null {
  if (block.type === "image") {
    const image = imageOf(block);
    if (typeof image === "string") return image;
    draft.images.push(image);
    return null;
  }
  if (block.type === "document") {
    const source = block.source as Record<string, unknown>;
    if (source.type === "text" && typeof source.data === "string") return source.data;
    const format = DOCUMENT_FORMATS[String(source.media_type ?? "")];
    if (source.type === "base64" && typeof source.data === "string" && format) {
      const title = typeof (block as Record<string, unknown>).title === "string"
        ? String((block as Record<string, unknown>).title)
        : `document-${draft.documents.length + index + 1}`;
      draft.documents.push({
        name: title.replace(/[^\w\s()[\]-]/g, "_").slice(0, 200),
        format,
        source: { bytes: source.data },
      });
      return null;
    }
    return `[document of type ${String(source.media_type ?? source.type)} omitted]`;
  }
  return null;
}

function addToolResult(draft: UserDraft, block: ToolResultBlock): void {
  const content: AmazonQToolResultContent[] = [];
  let meaningful = false;
  const items = typeof block.content === "string"
    ? [{ type: "text", text: block.content }]
    : block.content ?? [];
  items.forEach((item, i) => {
    const entry = item as ContentBlock;
    if (entry.type === "text") {
      content.push({ text: entry.text });
      if (entry.text.trim().length > 0) meaningful = true;
    } else if (entry.type === "image" || entry.type === "document") {
      // The upstream's tool results hold text or JSON only: media ride on the user entry.
      const note = addMedia(draft, entry, i);
      content.push({ text: note ?? `[${entry.type} attached to this message]` });
      meaningful = true;
    } else {
      content.push({ json: entry });
      meaningful = true;
    }
  });
  const status = block.is_error ? "error" : "success";
  const existing = draft.results.find((r) => r.toolUseId === block.tool_use_id);
  if (existing) {
    if (meaningful) existing.content.push(...content);
    if (status === "error") existing.status = "error";
    return;
  }
  draft.results.push({
    toolUseId: block.tool_use_id,
    content: meaningful ? content : [{ text: block.is_error ? EMPTY_RESULT_ERROR : EMPTY_RESULT_OK }],
    status,
  });
}

function webSearchText(block: ContentBlock): string {
  const record = block as Record<string, unknown>;
  if (block.type === "server_tool_use") return `[${block.name}: ${JSON.stringify(block.input)}]`;
  const content = record.content;
  if (!Array.isArray(content)) return "[web search failed]";
  const lines = content.map((r) => {
    const item = r as Record<string, unknown>;
    return `- ${String(item.title ?? "")} (${String(item.url ?? "")})`;
  });
  return `[web search results]\n${lines.join("\n")}`;
}

/** Blocks of either role that Amazon Q has no field for, replayed as text in the turn. */
function pushReplayed(draft: Draft, block: ContentBlock): void {
  switch (block.type) {
    case "thinking":
      // Amazon Q cannot verify our signatures (`reasoningContent` would fail with THINKING_SIGNATURE_INVALID);
      // the model wrote this reasoning as tagged text, so it is replayed that way.
      if (block.thinking) draft.texts.push(`<thinking>${block.thinking}</thinking>`);
      return;
    case "redacted_thinking":
      return;
    case "server_tool_use":
    case "web_search_tool_result":
      draft.texts.push(webSearchText(block));
      return;
    default:
      draft.texts.push(JSON.stringify(block));
  }
}

function convertUser(message: ClaudeMessage): UserDraft {
  const draft = userDraft();
  message.content.forEach((block, i) => {
    switch (block.type) {
      case "text":
        draft.texts.push(block.text);
        break;
      case "tool_result":
        addToolResult(draft, block);
        break;
      case "image":
      case "document": {
        const note = addMedia(draft, block, i);
        if (note !== null) draft.texts.push(note);
        break;
      }
      default:
        pushReplayed(draft, block);
    }
  });
  return draft;
}

function convertAssistant(message: ClaudeMessage): AssistantDraft {
  const draft: AssistantDraft = { role: "assistant", texts: [], toolUses: [] };
  for (const block of message.content) {
    switch (block.type) {
      case "text":
        draft.texts.push(block.text);
        break;
      case "tool_use":
        draft.toolUses.push({ toolUseId: block.id, name: block.name, input: block.input });
        break;
      default:
        pushReplayed(draft, block);
    }
  }
  return draft;
}

function merge(into: Draft, from: Draft): void {
  into.texts.push(...from.texts);
  if (into.role === "assistant" && from.role === "assistant") {
    into.toolUses.push(...from.toolUses);
    return;
  }
  if (into.role === "user" && from.role === "user") {
    for (const result of from.results) {
      const existing = into.results.find((r) => r.toolUseId === result.toolUseId);
      if (existing) existing.content.push(...result.content);
      else into.results.push(result);
    }
    into.images.push(...from.images);
    into.documents.push(...from.documents);
  }
}

/** Makes every tool call answered by the next user entry and turns results without a call into text. */
function pairToolTraffic(drafts: Draft[]): void {
  let previousCalls = new Set<string>();
  for (let i = 0; i < drafts.length; i++) {
    const draft = drafts[i]!;
    if (draft.role === "assistant") {
      const seen = new Set<string>();
      draft.toolUses = draft.toolUses.filter((u) => !seen.has(u.toolUseId) && seen.add(u.toolUseId));
      previousCalls = seen;
      const next = drafts[i + 1];
      if (next?.role === "user") {
        for (const id of seen) {
          if (!next.results.some((r) => r.toolUseId === id)) {
            next.results.push({ toolUseId: id, content: [{ text: MISSING_RESULT }], status: "error" });
          }
        }
      }
      continue;
    }
    const kept: AmazonQToolResult[] = [];
    for (const result of draft.results) {
      if (previousCalls.has(result.toolUseId)) {
        kept.push(result);
        continue;
      }
      const body = result.content.map((c) => ("text" in c ? c.text : JSON.stringify(c.json))).join("\n");
      draft.texts.push(
        `[result of tool call ${result.toolUseId}${result.status === "error" ? " (error)" : ""}]\n${body}`,
      );
    }
    draft.results = kept;
    previousCalls = new Set();
  }
}

/**
 * The conversation as Amazon Q entries to be: the preamble (system prompt, tool documentation) as a leading
 * user/assistant pair, then the messages, with same-role runs merged, a user entry first, the last entry a
 * user entry, and every tool call answered in the next user entry.
 */
export function historyDrafts(preamble: string[], messages: ClaudeMessage[]): Draft[] {
  const drafts: Draft[] = [];
  if (preamble.length > 0) {
    drafts.push(userDraft([preamble.join("\n\n")]));
    drafts.push({ role: "assistant", texts: [PREAMBLE_ACK], toolUses: [] });
  }

  for (const message of messages) {
    drafts.push(message.role === "user" ? convertUser(message) : convertAssistant(message));
  }
  // Assistant prefill: the upstream cannot continue a message, so the prefill stays in history and the
  // model is asked to go on from it; the client receives only the continuation, as with Anthropic.
  if (drafts.at(-1)?.role !== "user") drafts.push(userDraft([PREFILL_CONTINUE]));

  // Merge same-role runs (keeping every image and tool result), then make history start with a user entry.
  const merged: Draft[] = [];
  for (const draft of drafts) {
    const last = merged.at(-1);
    if (last && last.role === draft.role) merge(last, draft);
    else merged.push(draft);
  }
  if (merged[0]?.role === "assistant") merged.unshift(userDraft([HISTORY_START]));
  pairToolTraffic(merged);
  return merged;
}
