/**
 * Token estimates for requests and answers, with one tokenizer loaded once at start.
 *
 * Uses `cl100k_base` from `js-tiktoken` (pure TypeScript, no download at run time). It is not Claude's
 * tokenizer, so the numbers are estimates (the reference implementation measured 10-20 % off); upstream
 * counts replace them whenever a stream reports usage. Images count a fixed cost by size instead of their
 * base64 text. Built once in `main.ts` and passed down; never constructed per request.
 */
import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import type { ClaudeRequest, ContentBlock } from "../claude/request_schema.ts";

/** Rough cost of an image: Anthropic bills about (width*height)/750 tokens; without decoding, use size. */
const IMAGE_TOKENS_PER_KB = 12;
const MIN_IMAGE_TOKENS = 85;
const MAX_IMAGE_TOKENS = 1600;

/** Texts at least this long are remembered: coding agents resend the same history every turn. */
const MEMO_MIN_LENGTH = 256;

export class TokenEstimator {
  #encoder: Tiktoken;
  #memo = new Map<string, number>();
  #memoLimit: number;

  constructor(options: { memoEntries?: number } = {}) {
    this.#encoder = new Tiktoken(cl100k);
    this.#memoLimit = options.memoEntries ?? 8192;
  }

  /** Tokens in a text. */
  count(text: string): number {
    if (text.length === 0) return 0;
    if (text.length < MEMO_MIN_LENGTH) return this.#encoder.encode(text, "all").length;
    const known = this.#memo.get(text);
    if (known !== undefined) {
      // Refresh recency: Map iteration order is insertion order, so re-insert.
      this.#memo.delete(text);
      this.#memo.set(text, known);
      return known;
    }
    const tokens = this.#encoder.encode(text, "all").length;
    if (this.#memo.size >= this.#memoLimit) {
      const oldest = this.#memo.keys().next();
      if (!oldest.done) this.#memo.delete(oldest.value);
    }
    this.#memo.set(text, tokens);
    return tokens;
  }

  /** Input tokens of a whole request: system, messages, tool definitions. */
  countRequest(request: Pick<ClaudeRequest, "system" | "messages" | "tools">): number {
    const parts: string[] = [];
    let extra = 0;
    for (const block of request.system) parts.push(block.text);
    for (const message of request.messages) {
      extra += 4; // role and turn framing
      for (const block of message.content) extra += this.#collect(block, parts);
    }
    for (const tool of request.tools ?? []) {
      parts.push(tool.name, tool.description ?? "", JSON.stringify(tool.input_schema ?? {}));
    }
    let total = extra;
    for (const part of parts) total += this.count(part) + 1;
    return total;
  }

  #collect(block: ContentBlock, parts: string[]): number {
    switch (block.type) {
      case "text":
        parts.push(block.text);
        return 0;
      case "thinking":
        parts.push(block.thinking);
        return 0;
      case "tool_use":
        parts.push(block.name, JSON.stringify(block.input));
        return 0;
      case "tool_result": {
        if (typeof block.content === "string") {
          parts.push(block.content);
          return 0;
        }
        let extra = 0;
        for (const inner of block.content ?? []) extra += this.#collect(inner as ContentBlock, parts);
        return extra;
      }
      case "image": {
        const source = block.source;
        const bytes = source.type === "base64" ? (source.data.length * 3) / 4 : 0;
        const tokens = Math.round((bytes / 1024) * IMAGE_TOKENS_PER_KB);
        return Math.min(MAX_IMAGE_TOKENS, Math.max(MIN_IMAGE_TOKENS, tokens));
      }
      default:
        parts.push(JSON.stringify(block));
        return 0;
    }
  }
}
