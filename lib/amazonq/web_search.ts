/**
 * `WebSearch`: Claude's server-side `web_search` tool answered through Amazon Q's MCP `web_search` call.
 *
 * Claude Code's WebSearch sub-request carries the server tool
 * `{"type":"web_search_20250305","name":"web_search"}`; the model behind Amazon Q cannot run it, so the proxy
 * calls `POST /mcp` (JSON-RPC `tools/call` `web_search`) and answers with the blocks Anthropic's own server
 * tool produces: `server_tool_use`, `web_search_tool_result`, then a text summary. An upstream failure
 * (JSON-RPC error, malformed result) is an `UpstreamError`, never an empty "No results found" that would
 * look like a real answer.
 *
 * This file holds the pure parts (detection, query, JSON-RPC body, result parsing, events); the channel
 * makes the HTTP call with its token and retry handling, so nothing here fetches.
 */
import { BlockSequencer } from "../claude/block_sequencer.ts";
import type { ClaudeStreamEvent, WebSearchResult } from "../claude/events.ts";
import { messageStart } from "../claude/events.ts";
import type { ClaudeRequest } from "../claude/request_schema.ts";
import { ApiError, UpstreamError } from "../errors.ts";
import { isServerTool } from "./request_converter.ts";

export interface WebSearchHit {
  title: string;
  url: string;
  snippet?: string;
  publishedDate?: string;
}

export interface WebSearchAnswer {
  messageId: string;
  model: string;
  inputTokens: number;
  query: string;
  /** `srvtoolu_...` id of the server tool call. */
  toolUseId: string;
  hits: WebSearchHit[];
  countTokens(text: string): number;
}

/** Claude Code phrases its sub-request like this; the query is what follows. */
const QUERY_PREFIX = /^\s*perform a web search for the query:\s*/i;
const SNIPPET_LIMIT = 200;

function isWebSearchTool(tool: NonNullable<ClaudeRequest["tools"]>[number]): boolean {
  return isServerTool(tool) && (tool.name === "web_search" || (tool.type ?? "").startsWith("web_search_"));
}

export class WebSearch {
  /**
   * True when the request is a web-search request: its web_search server tool is its only tool, or
   * `tool_choice` names it. Mixed with ordinary tools, the request goes to the model and the server tool is
   * left out of the upstream tool list (the model cannot call it, and the client's other tools still work).
   */
  static wanted(request: Pick<ClaudeRequest, "tools" | "tool_choice">): boolean {
    const tools = request.tools ?? [];
    const search = tools.find(isWebSearchTool);
    if (!search) return false;
    if (tools.length === 1) return true;
    return request.tool_choice?.type === "tool" && request.tool_choice.name === search.name;
  }

  /** The search query: the last user message's text, without Claude Code's prefix. */
  static query(request: Pick<ClaudeRequest, "messages">): string {
    for (let i = request.messages.length - 1; i >= 0; i--) {
      const message = request.messages[i]!;
      if (message.role !== "user") continue;
      const text = message.content.find((b) => b.type === "text");
      const query = text?.type === "text" ? text.text.replace(QUERY_PREFIX, "").trim() : "";
      if (query) return query;
    }
    throw new ApiError(
      "invalid_request_error",
      "web search request has no query text in its last user message",
    );
  }

  /** The JSON-RPC body of the MCP call. */
  static rpcBody(query: string, rpcId: string): Record<string, unknown> {
    return {
      id: rpcId,
      jsonrpc: "2.0",
      method: "tools/call",
      params: { name: "web_search", arguments: { query } },
    };
  }

  /** Parses the MCP answer; a JSON-RPC error or an unreadable result is an `UpstreamError`. */
  static parse(body: string): WebSearchHit[] {
    const malformed = (why: string) =>
      new UpstreamError("transient", `Amazon Q web search returned a malformed answer: ${why}`, {
        provider: "amazonq",
      });
    let rpc: Record<string, unknown>;
    try {
      rpc = JSON.parse(body);
    } catch {
      throw malformed("not JSON");
    }
    if (rpc.error && typeof rpc.error === "object") {
      const error = rpc.error as Record<string, unknown>;
      const message = typeof error.message === "string" ? error.message.slice(0, 300) : "unknown error";
      throw new UpstreamError("transient", `Amazon Q web search failed: ${message}`, { provider: "amazonq" });
    }
    const result = rpc.result as Record<string, unknown> | undefined;
    if (result?.isError === true) {
      throw new UpstreamError("transient", "Amazon Q web search failed", { provider: "amazonq" });
    }
    const content = Array.isArray(result?.content) ? result.content : null;
    const first = content?.[0] as Record<string, unknown> | undefined;
    if (!first || first.type !== "text" || typeof first.text !== "string") throw malformed("no text result");
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(first.text);
    } catch {
      throw malformed("result text is not JSON");
    }
    if (typeof data.error === "string" && data.error) {
      throw new UpstreamError("transient", `Amazon Q web search failed: ${data.error.slice(0, 300)}`, {
        provider: "amazonq",
      });
    }
    if (!Array.isArray(data.results)) throw malformed("no results list");
    const hits: WebSearchHit[] = [];
    for (const item of data.results) {
      const r = item as Record<string, unknown>;
      if (typeof r.url !== "string") continue;
      const hit: WebSearchHit = { title: typeof r.title === "string" ? r.title : r.url, url: r.url };
      if (typeof r.snippet === "string") hit.snippet = r.snippet;
      if (typeof r.publishedDate === "string") hit.publishedDate = r.publishedDate;
      hits.push(hit);
    }
    return hits;
  }

  /** The summary text the model would have written from the results. */
  static summary(query: string, hits: WebSearchHit[]): string {
    const lines = [`Here are the search results for "${query}":`, ""];
    if (hits.length === 0) lines.push("No results found.", "");
    hits.forEach((hit, i) => {
      lines.push(`${i + 1}. **${hit.title}**`);
      if (hit.snippet) {
        const s = hit.snippet.length > SNIPPET_LIMIT
          ? `${hit.snippet.slice(0, SNIPPET_LIMIT)}...`
          : hit.snippet;
        lines.push(`   ${s}`);
      }
      lines.push(`   Source: ${hit.url}`, "");
    });
    lines.push("These are web search results and may not be fully accurate or up to date.");
    return lines.join("\n");
  }

  /** The complete Claude event stream of a web-search answer. */
  static events(answer: WebSearchAnswer): ClaudeStreamEvent[] {
    const events: ClaudeStreamEvent[] = [];
    const seq = new BlockSequencer((e) => events.push(e));
    events.push(messageStart(answer.messageId, answer.model, {
      input_tokens: answer.inputTokens,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    }));
    seq.whole({
      type: "server_tool_use",
      id: answer.toolUseId,
      name: "web_search",
      input: { query: answer.query },
    });
    const results: WebSearchResult[] = answer.hits.map((hit) => ({
      type: "web_search_result",
      title: hit.title,
      url: hit.url,
      // Anthropic's value is opaque and clients only echo it back; the snippet is the useful stand-in.
      encrypted_content: hit.snippet ?? "",
      page_age: hit.publishedDate ?? null,
    }));
    seq.whole({ type: "web_search_tool_result", tool_use_id: answer.toolUseId, content: results });
    const summary = WebSearch.summary(answer.query, answer.hits);
    seq.text(summary);
    seq.close();
    events.push({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: {
        input_tokens: answer.inputTokens,
        output_tokens: answer.countTokens(summary),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
    events.push({ type: "message_stop" });
    return events;
  }
}
