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

/** Texts at least this long are remembered: coding agents resend the same history, tools and system every turn. */
const MEMO_MIN_LENGTH = 32;

/**
 * js-tiktoken's byte-pair merge is quadratic in the length of one pre-token (a run of letters, of punctuation
 * or of whitespace). Measured: 1,000 spaces took ~250 ms, 2,000 random letters ~0.9 s, a 5,000-letter run
 * ~7 s and a 20,000-letter run about three minutes, all blocking the event loop for every request. Longer
 * runs are counted in slices of `MAX_RUN` characters; the estimate moves by at most a token per slice.
 */
const MAX_RUN = 16;
const LONG_RUN = /\p{L}{17,}|[^\s\p{L}\p{N}]{17,}|\s{17,}/gu;

export class TokenEstimator {
  #encoder: Tiktoken;
  #memo = new Map<string, number>();
  #memoLimit: number;
  #memoChars = 0;
  #memoCharLimit: number;

  constructor(options: { memoEntries?: number; memoChars?: number } = {}) {
    this.#encoder = new Tiktoken(cl100k);
    this.#memoLimit = options.memoEntries ?? 8192;
    // The memo holds the texts themselves as keys: bound their total size, not only their number, or a few
    // thousand large tool results would stay in memory.
    this.#memoCharLimit = options.memoChars ?? 8 * 1024 * 1024;
  }

  /** Texts remembered and their total length (for tests and stats). */
  get memoSize(): { entries: number; chars: number } {
    return { entries: this.#memo.size, chars: this.#memoChars };
  }

  /** Tokens in a text. */
  count(text: string): number {
    if (text.length === 0) return 0;
    if (text.length < MEMO_MIN_LENGTH) return this.#encode(text);
    const known = this.#memo.get(text);
    if (known !== undefined) {
      // Refresh recency: Map iteration order is insertion order, so re-insert.
      this.#memo.delete(text);
      this.#memo.set(text, known);
      return known;
    }
    const tokens = this.#encode(text);
    if (text.length > this.#memoCharLimit / 8) return tokens;
    while (
      this.#memo.size > 0 &&
      (this.#memo.size >= this.#memoLimit || this.#memoChars + text.length > this.#memoCharLimit)
    ) {
      const oldest = this.#memo.keys().next().value!;
      this.#memo.delete(oldest);
      this.#memoChars -= oldest.length;
    }
    this.#memo.set(text, tokens);
    this.#memoChars += text.length;
    return tokens;
  }

  /** Tokens of a text, with long runs counted in slices (see `MAX_RUN`). */
  #encode(text: string): number {
    let total = 0;
    let last = 0;
    for (const run of text.matchAll(LONG_RUN)) {
      total += this.#encoder.encode(text.slice(last, run.index), "all").length;
      for (let i = 0; i < run[0].length; i += MAX_RUN) {
        total += this.#encoder.encode(run[0].slice(i, i + MAX_RUN), "all").length;
      }
      last = run.index + run[0].length;
    }
    return total + this.#encoder.encode(last === 0 ? text : text.slice(last), "all").length;
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
