/**
 * `cacheablePrefix`: a Claude request as the prompt cache sees it, i.e. blocks in API order (tools, then system,
 * then message content), each with its token count, the digest of the prefix that ends with it, and the
 * `cache_control` breakpoints, validated the way Anthropic validates them.
 *
 * Token counts come from the estimator through a narrow interface (remembered per text piece by `PieceMemo`,
 * so a resent history is neither recounted nor rehashed) and are assigned so that the per-block
 * counts add up exactly to `countRequest` (a message's framing goes to its first block, each counted text part
 * carries the estimator's separator), so a split of the prefix never disagrees with `count_tokens`. The
 * digest of a block leaves out its `cache_control` (moving a breakpoint does not change the prompt the model
 * sees) and the digest of the first block of a message includes the role. Breakpoints: at most 4, and a
 * `ttl: "1h"` one may not follow a `"5m"` one in API order; both are rejected with Anthropic's own 400 text.
 * A `cache_control` on a block inside a `tool_result` marks the end of that tool result. A top-level
 * `cache_control` (Anthropic's automatic caching) puts one more breakpoint on the last block unless that block
 * has its own.
 */
import type { ClaudeRequest, ClaudeTool, ContentBlock, TextBlock } from "../claude/request_schema.ts";
import { ApiError } from "../errors.ts";
import type { BlockHasher, Digest128 } from "./block_hasher.ts";
import { PieceMemo } from "./piece_memo.ts";
import { PrefixChain } from "./prefix_chain.ts";

/** The part of `TokenEstimator` the simulation uses. */
export interface TokenCounter {
  count(text: string): number;
  countRequest(request: Pick<ClaudeRequest, "system" | "messages" | "tools">): number;
}

export type CacheTtl = "5m" | "1h";

export interface CacheBreakpoint {
  /** Index of the block that ends the cached prefix. */
  block: number;
  ttl: CacheTtl;
  /** Where the marker sits in the request (`system.1`, `messages.3.content.0`), for error messages. */
  path: string;
}

export interface CacheablePrefix {
  /** Tokens of each block. */
  tokens: number[];
  /** `prefixTokens[i]`: tokens of blocks 0..i. */
  prefixTokens: number[];
  /** Digests of blocks 0..i (seeded with the scope, so two scopes never share a digest); `chain.key(i)`. */
  chain: PrefixChain;
  breakpoints: CacheBreakpoint[];
  total: number;
}

export const MAX_BREAKPOINTS = 4;

/** Overheads the estimator adds around text parts, learnt from the estimator itself. */
export interface CountingOverheads {
  perPart: number;
  perMessage: number;
}

export function countingOverheads(counter: TokenCounter): CountingOverheads {
  const perPart = counter.countRequest({ system: [{ type: "text", text: "" }], messages: [] });
  const perMessage = counter.countRequest({ system: [], messages: [{ role: "user", content: [] }] });
  return { perPart, perMessage };
}

interface Marker {
  type?: unknown;
  ttl?: unknown;
}

function invalid(message: string): ApiError {
  return new ApiError("invalid_request_error", message);
}

/** `path.` for a block, nothing for the top-level marker. */
function at(path: string): string {
  return path === "" ? "" : `${path}.`;
}

function readMarker(marker: unknown, path: string): CacheTtl | null {
  if (marker === undefined || marker === null) return null;
  const m = marker as Marker;
  if (m.type !== "ephemeral") throw invalid(`${at(path)}cache_control.type: Input should be 'ephemeral'`);
  if (m.ttl === undefined) return "5m";
  if (m.ttl === "5m" || m.ttl === "1h") return m.ttl;
  throw invalid(`${at(path)}cache_control.ttl: Input should be '5m' or '1h'`);
}

function withoutCacheControl(value: object): object {
  if (!("cache_control" in value)) return value;
  const { cache_control: _, ...rest } = value as { cache_control?: unknown };
  return rest;
}

/** What a walk needs: the counter, the hasher, the piece memo and constant tag digests. */
export class PrefixContext {
  readonly counter: TokenCounter;
  readonly hasher: BlockHasher;
  readonly overheads: CountingOverheads;
  readonly pieces: PieceMemo;
  readonly tags: Record<
    | "tool"
    | "system"
    | "text"
    | "thinking"
    | "tool_use"
    | "tool_result"
    | "image"
    | "block"
    | "user"
    | "assistant",
    Digest128
  >;

  constructor(counter: TokenCounter, hasher: BlockHasher, options: { memoChars?: number } = {}) {
    this.counter = counter;
    this.hasher = hasher;
    this.overheads = countingOverheads(counter);
    const perPart = this.overheads.perPart;
    this.pieces = new PieceMemo((text) => counter.count(text) + perPart, hasher, {
      maxChars: options.memoChars,
    });
    const tag = (name: string) => hasher.digest(name, 0x7a6);
    this.tags = {
      tool: tag("tool"),
      system: tag("system"),
      text: tag("text"),
      thinking: tag("thinking"),
      tool_use: tag("tool_use"),
      tool_result: tag("tool_result"),
      image: tag("image"),
      block: tag("block"),
      user: tag("user"),
      assistant: tag("assistant"),
    };
  }
}

/** Walks a request once, counting, hashing and collecting breakpoints. */
export function cacheablePrefix(
  request: Pick<ClaudeRequest, "system" | "messages" | "tools" | "extra">,
  scope: string,
  ctx: PrefixContext,
): CacheablePrefix {
  const { hasher, pieces, tags } = ctx;
  const tokens: number[] = [];
  const prefixTokens: number[] = [];
  const breakpoints: CacheBreakpoint[] = [];
  const chain = new PrefixChain(hasher.digest(scope, 0x5eed), 512);
  let total = 0;
  // Paths are only built for blocks that carry a marker.
  const end = (n: number, marker: unknown, path: () => string) => {
    if (marker !== undefined) {
      const where = path();
      const ttl = readMarker(marker, where);
      if (ttl) breakpoints.push({ block: tokens.length, ttl, path: where });
    }
    chain.mark();
    total += n;
    tokens.push(n);
    prefixTokens.push(total);
  };

  const tools = request.tools ?? [];
  for (let i = 0; i < tools.length; i++) {
    const tool: ClaudeTool = tools[i]!;
    const name = pieces.get(tool.name);
    const description = pieces.get(tool.description ?? "");
    const schema = pieces.get(JSON.stringify(tool.input_schema ?? {}));
    chain.absorb(tags.tool);
    chain.absorb(name.digest);
    chain.absorb(description.digest);
    chain.absorb(schema.digest);
    const { name: _n, description: _d, input_schema: _s, cache_control: _c, ...rest } = tool;
    if (Object.keys(rest).length > 0) chain.absorb(hasher.digest(JSON.stringify(rest)));
    end(name.tokens + description.tokens + schema.tokens, tool.cache_control, () => `tools.${i}`);
  }
  for (let i = 0; i < request.system.length; i++) {
    const block: TextBlock = request.system[i]!;
    const text = pieces.get(block.text);
    chain.absorb(tags.system);
    chain.absorb(text.digest);
    end(text.tokens, block.cache_control, () => `system.${i}`);
  }
  for (let m = 0; m < request.messages.length; m++) {
    const message = request.messages[m]!;
    const content = message.content;
    if (content.length === 0) {
      // An empty turn still costs its framing; give it a block so the counts add up.
      chain.absorb(tags[message.role]);
      end(ctx.overheads.perMessage, undefined, () => `messages.${m}`);
      continue;
    }
    for (let j = 0; j < content.length; j++) {
      const block = content[j]!;
      let n = 0;
      if (j === 0) {
        n += ctx.overheads.perMessage;
        chain.absorb(tags[message.role]);
      }
      const path = () => `messages.${m}.content.${j}`;
      n += contentBlock(block, path, ctx, chain, breakpoints, tokens.length);
      end(n, block.cache_control, path);
    }
  }

  const auto = request.extra["cache_control"];
  if (auto !== undefined && tokens.length > 0) {
    const ttl = readMarker(auto, "");
    const last = tokens.length - 1;
    if (ttl && breakpoints.at(-1)?.block !== last) breakpoints.push({ block: last, ttl, path: "" });
  }
  validate(breakpoints);
  return { tokens, prefixTokens, chain, breakpoints, total };
}

function validate(breakpoints: CacheBreakpoint[]): void {
  if (breakpoints.length > MAX_BREAKPOINTS) {
    throw invalid(
      `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints.length}.`,
    );
  }
  let seenShort = false;
  for (const bp of breakpoints) {
    if (bp.ttl === "5m") seenShort = true;
    else if (seenShort) {
      throw invalid(
        `${at(bp.path)}cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' ` +
          "cache_control block. Note that blocks are processed in the following order: `tools`, `system`, " +
          "`messages`.",
      );
    }
  }
}

/** Absorbs one message content block and returns its tokens; breakpoints inside a tool result are collected. */
function contentBlock(
  block: ContentBlock,
  path: () => string,
  ctx: PrefixContext,
  chain: PrefixChain,
  breakpoints: CacheBreakpoint[],
  index: number,
): number {
  const { hasher, pieces, tags } = ctx;
  switch (block.type) {
    case "text": {
      const text = pieces.get(block.text);
      chain.absorb(tags.text);
      chain.absorb(text.digest);
      return text.tokens;
    }
    case "thinking": {
      const thinking = pieces.get(block.thinking);
      chain.absorb(tags.thinking);
      chain.absorb(thinking.digest);
      chain.absorb(hasher.digest(block.signature ?? ""));
      return thinking.tokens;
    }
    case "tool_use": {
      const name = pieces.get(block.name);
      const input = pieces.get(JSON.stringify(block.input));
      chain.absorb(tags.tool_use);
      chain.absorb(pieces.get(block.id).digest);
      chain.absorb(name.digest);
      chain.absorb(input.digest);
      return name.tokens + input.tokens;
    }
    case "tool_result": {
      chain.absorb(tags.tool_result);
      chain.absorb(pieces.get(block.tool_use_id).digest);
      if (block.is_error) chain.absorb(tags.block);
      if (typeof block.content === "string") {
        const content = pieces.get(block.content);
        chain.absorb(content.digest);
        return content.tokens;
      }
      let n = 0;
      const inner = block.content ?? [];
      for (let k = 0; k < inner.length; k++) {
        const item = inner[k] as ContentBlock;
        const marker = (item as { cache_control?: unknown }).cache_control;
        const innerPath = () => `${path()}.content.${k}`;
        if (marker !== undefined) {
          const ttl = readMarker(marker, innerPath());
          // The end of the tool result is the nearest block boundary the cache can use.
          if (ttl) breakpoints.push({ block: index, ttl, path: innerPath() });
        }
        n += item.type === "text" || item.type === "image"
          ? contentBlock(item, innerPath, ctx, chain, breakpoints, index)
          : otherBlock(item, ctx, chain);
      }
      return n;
    }
    case "image": {
      // The estimator's own price for an image, asked as a one-image message minus the message framing.
      const n = ctx.counter.countRequest({ system: [], messages: [{ role: "user", content: [block] }] }) -
        ctx.overheads.perMessage;
      chain.absorb(tags.image);
      chain.absorb(hasher.digest(JSON.stringify(block.source)));
      return n;
    }
    default:
      return otherBlock(block, ctx, chain);
  }
}

/** Counted as the estimator counts it (its whole JSON), hashed without the marker. */
function otherBlock(block: ContentBlock, ctx: PrefixContext, chain: PrefixChain): number {
  chain.absorb(ctx.tags.block);
  chain.absorb(ctx.hasher.digest(JSON.stringify(withoutCacheControl(block))));
  return ctx.pieces.get(JSON.stringify(block)).tokens;
}
