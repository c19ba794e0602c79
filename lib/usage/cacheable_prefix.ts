/**
 * `cacheablePrefix`: a Claude request as the prompt cache sees it, i.e. blocks in API order (tools, then system,
 * then message content), each with its token count, the digest of the prefix that ends with it, and the
 * `cache_control` breakpoints, validated the way Anthropic validates them.
 *
 * Token counts come from the estimator through a narrow interface and are assigned so that the per-block
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
  /** Digest of blocks 0..i (seeded with the scope, so two scopes never share a digest). */
  prefixDigests: Digest128[];
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

/** Walks a request once, counting, hashing and collecting breakpoints. */
export function cacheablePrefix(
  request: Pick<ClaudeRequest, "system" | "messages" | "tools" | "extra">,
  scope: string,
  counter: TokenCounter,
  hasher: BlockHasher,
  overheads: CountingOverheads = countingOverheads(counter),
): CacheablePrefix {
  const tokens: number[] = [];
  const prefixTokens: number[] = [];
  const prefixDigests: Digest128[] = [];
  const breakpoints: CacheBreakpoint[] = [];
  let prefix = hasher.digest(scope, 0x5eed);
  let total = 0;
  const part = (text: string) => counter.count(text) + overheads.perPart;
  const push = (n: number, digest: Digest128, marker: unknown, path: string) => {
    const ttl = readMarker(marker, path);
    if (ttl) breakpoints.push({ block: tokens.length, ttl, path });
    prefix = hasher.chain(prefix, digest);
    total += n;
    tokens.push(n);
    prefixTokens.push(total);
    prefixDigests.push(prefix);
  };

  (request.tools ?? []).forEach((tool: ClaudeTool, i) => {
    const schema = JSON.stringify(tool.input_schema ?? {});
    const description = tool.description ?? "";
    const { name: _n, description: _d, input_schema: _s, cache_control: _c, ...rest } = tool;
    const parts = ["tool", tool.name, description, schema];
    if (Object.keys(rest).length > 0) parts.push(JSON.stringify(rest));
    push(
      part(tool.name) + part(description) + part(schema),
      hasher.digestParts(parts),
      tool.cache_control,
      `tools.${i}`,
    );
  });
  request.system.forEach((block: TextBlock, i) => {
    push(part(block.text), hasher.digestParts(["system", block.text]), block.cache_control, `system.${i}`);
  });
  request.messages.forEach((message, m) => {
    message.content.forEach((block, j) => {
      const path = `messages.${m}.content.${j}`;
      let { n, digest } = contentBlock(
        block,
        path,
        part,
        counter,
        overheads,
        hasher,
        breakpoints,
        tokens.length,
      );
      if (j === 0) {
        n += overheads.perMessage;
        digest = hasher.chain(hasher.digest(message.role, 0x7e), digest);
      }
      push(n, digest, block.cache_control, path);
    });
    if (message.content.length === 0) {
      // An empty turn still costs its framing; give it a block so the counts add up.
      push(overheads.perMessage, hasher.digest(message.role, 0x7e), undefined, `messages.${m}`);
    }
  });

  const auto = request.extra["cache_control"];
  if (auto !== undefined && tokens.length > 0) {
    const ttl = readMarker(auto, "");
    const last = tokens.length - 1;
    if (ttl && breakpoints.at(-1)?.block !== last) breakpoints.push({ block: last, ttl, path: "" });
  }
  validate(breakpoints);
  return { tokens, prefixTokens, prefixDigests, breakpoints, total };
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

/** Tokens and digest of one message content block; breakpoints inside a tool result are collected here. */
function contentBlock(
  block: ContentBlock,
  path: string,
  part: (text: string) => number,
  counter: TokenCounter,
  overheads: CountingOverheads,
  hasher: BlockHasher,
  breakpoints: CacheBreakpoint[],
  index: number,
): { n: number; digest: Digest128 } {
  switch (block.type) {
    case "text":
      return { n: part(block.text), digest: hasher.digestParts(["text", block.text]) };
    case "thinking":
      return {
        n: part(block.thinking),
        digest: hasher.digestParts(["thinking", block.thinking, block.signature ?? ""]),
      };
    case "tool_use": {
      const input = JSON.stringify(block.input);
      return {
        n: part(block.name) + part(input),
        digest: hasher.digestParts(["tool_use", block.id, block.name, input]),
      };
    }
    case "tool_result": {
      const head = ["tool_result", block.tool_use_id, block.is_error ? "error" : ""];
      if (typeof block.content === "string") {
        return { n: part(block.content), digest: hasher.digestParts([...head, block.content]) };
      }
      let n = 0;
      let digest = hasher.digestParts(head);
      (block.content ?? []).forEach((inner, k) => {
        const innerPath = `${path}.content.${k}`;
        const ttl = readMarker((inner as { cache_control?: unknown }).cache_control, innerPath);
        // The end of the tool result is the nearest block boundary the cache can use.
        if (ttl) breakpoints.push({ block: index, ttl, path: innerPath });
        const counted = innerBlock(inner as ContentBlock, part, counter, overheads, hasher);
        n += counted.n;
        digest = hasher.chain(digest, counted.digest);
      });
      return { n, digest };
    }
    case "image":
      return {
        n: imageTokens(block, counter, overheads),
        digest: hasher.digestParts(["image", JSON.stringify(withoutCacheControl(block.source))]),
      };
    default:
      // Counted as the estimator counts it (its whole JSON), hashed without the marker.
      return {
        n: part(JSON.stringify(block)),
        digest: hasher.digestParts(["block", JSON.stringify(withoutCacheControl(block))]),
      };
  }
}

function innerBlock(
  block: ContentBlock,
  part: (text: string) => number,
  counter: TokenCounter,
  overheads: CountingOverheads,
  hasher: BlockHasher,
): { n: number; digest: Digest128 } {
  if (block.type === "text") return { n: part(block.text), digest: hasher.digestParts(["text", block.text]) };
  if (block.type === "image") {
    return {
      n: imageTokens(block, counter, overheads),
      digest: hasher.digestParts(["image", JSON.stringify(block.source)]),
    };
  }
  return {
    n: part(JSON.stringify(block)),
    digest: hasher.digestParts(["block", JSON.stringify(withoutCacheControl(block))]),
  };
}

/** The estimator's own price for an image, asked as a one-image message minus the message framing. */
function imageTokens(block: ContentBlock, counter: TokenCounter, overheads: CountingOverheads): number {
  return counter.countRequest({ system: [], messages: [{ role: "user", content: [block] }] }) -
    overheads.perMessage;
}
