/**
 * Token estimates for requests and answers, with one tokenizer loaded once at start.
 *
 * Counts `cl100k_base` tokens with `Cl100kCounter` (linear in the text, see there). It is not Claude's
 * tokenizer, so the numbers are estimates (measured 10-20 % off); upstream counts replace them whenever a
 * stream reports usage. Images count a fixed cost by size instead of their base64 text. Built once in
 * `main.ts` and passed down; never constructed per request.
 *
 * Small texts are counted on the event loop (the hot path, with a memo: coding agents resend the same
 * history, tools and system every turn). `countRequestAsync` sends a request's large, not yet remembered
 * texts to `TokenCountWorker`, so a multi-megabyte body never stalls other requests. Both paths run the same
 * counter, so a request gets the same number whichever way it was counted; the total of a request counted
 * ahead is kept (by its message list) for the synchronous `countRequest` the gateway does right after.
 */
import type { ClaudeRequest, ContentBlock } from "../claude/request_schema.ts";
import { Cl100kCounter } from "./cl100k_counter.ts";
import { cl100kRankTable } from "./cl100k_rank_table.ts";
import { TokenCountWorker, type TokenCountWorkerOptions } from "./token_count_worker.ts";

/** Rough cost of an image: Anthropic bills about (width*height)/750 tokens; without decoding, use size. */
const IMAGE_TOKENS_PER_KB = 12;
const MIN_IMAGE_TOKENS = 85;
const MAX_IMAGE_TOKENS = 1600;

/** Texts at least this long are remembered: coding agents resend the same history, tools and system every turn. */
const MEMO_MIN_LENGTH = 32;

/**
 * Characters of not-yet-remembered text one request may have counted on the event loop; the rest goes to
 * the worker. The slowest text measured (random letters) counts at ~1.5 µs a character: ~25 ms here.
 */
const INLINE_CHARS = 16 * 1024;

type RequestParts = Pick<ClaudeRequest, "system" | "messages" | "tools">;

interface Counted {
  system: RequestParts["system"];
  tools: RequestParts["tools"];
  tokens: number;
}

export interface TokenEstimatorOptions {
  memoEntries?: number;
  memoChars?: number;
  worker?: TokenCountWorkerOptions;
}

export class TokenEstimator {
  #counter: Cl100kCounter;
  #worker: TokenCountWorker;
  #memo = new Map<string, number>();
  #memoLimit: number;
  #memoChars = 0;
  #memoCharLimit: number;
  /** Totals counted ahead by `countRequestAsync`, keyed by the request's message list. */
  #counted = new WeakMap<object, Counted>();

  constructor(options: TokenEstimatorOptions = {}) {
    this.#memoLimit = options.memoEntries ?? 8192;
    // The memo holds the texts themselves as keys: bound their total size, not only their number, or a few
    // thousand large tool results would stay in memory.
    this.#memoCharLimit = options.memoChars ?? 8 * 1024 * 1024;
    // One rank table for the event loop and the worker (it is shared memory, see `TokenCountWorker`).
    const ranks = cl100kRankTable();
    this.#counter = new Cl100kCounter(ranks);
    this.#worker = new TokenCountWorker(ranks, options.worker);
  }

  /** Texts remembered and their total length (for tests and stats). */
  get memoSize(): { entries: number; chars: number } {
    return { entries: this.#memo.size, chars: this.#memoChars };
  }

  /** Stops the background worker (server shutdown, tests). */
  close(): void {
    this.#worker.close();
  }

  /** Tokens in a text, counted on the calling thread. */
  count(text: string): number {
    const known = this.#recall(text);
    if (known !== undefined) return known;
    const tokens = this.#counter.count(text);
    this.#remember(text, tokens);
    return tokens;
  }

  #recall(text: string): number | undefined {
    if (text.length === 0) return 0;
    // Too long to be remembered: skip the lookup, which would hash the whole text on the event loop.
    if (text.length < MEMO_MIN_LENGTH || text.length > this.#memoCharLimit / 8) return undefined;
    const known = this.#memo.get(text);
    if (known !== undefined) {
      // Refresh recency: Map iteration order is insertion order, so re-insert.
      this.#memo.delete(text);
      this.#memo.set(text, known);
    }
    return known;
  }

  #remember(text: string, tokens: number): void {
    if (text.length < MEMO_MIN_LENGTH || text.length > this.#memoCharLimit / 8) return;
    if (this.#memo.has(text)) return;
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
  }

  /**
   * Input tokens of a whole request: system, messages, tool definitions. Counted on the calling thread
   * unless `countRequestAsync` already counted this request.
   */
  countRequest(request: RequestParts): number {
    const ahead = this.#counted.get(request.messages);
    if (ahead && ahead.system === request.system && ahead.tools === request.tools) return ahead.tokens;
    const { parts, extra } = this.#parts(request);
    let total = extra;
    for (const part of parts) total += this.count(part) + 1;
    return total;
  }

  /**
   * The same number as `countRequest`, with large texts counted in the worker: the event loop spends at
   * most `INLINE_CHARS` characters of counting on one request. Rejects with a 529 when the worker's queue
   * is full.
   */
  async countRequestAsync(request: RequestParts): Promise<number> {
    const { parts, extra } = this.#parts(request);
    let total = extra + parts.length;
    let inline = 0;
    const later: string[] = [];
    for (const part of parts) {
      const known = this.#recall(part);
      if (known !== undefined) total += known;
      else if (inline + part.length <= INLINE_CHARS) {
        inline += part.length;
        total += this.count(part);
      } else later.push(part);
    }
    if (later.length > 0) {
      const counts = await this.#worker.count(later);
      for (let i = 0; i < later.length; i++) {
        total += counts[i]!;
        this.#remember(later[i]!, counts[i]!);
      }
    }
    this.#counted.set(request.messages, { system: request.system, tools: request.tools, tokens: total });
    return total;
  }

  #parts(request: RequestParts): { parts: string[]; extra: number } {
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
    return { parts, extra };
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
