/**
 * `PromptCacheSimulator`: Anthropic's prompt cache, simulated for upstreams that report no cache numbers.
 *
 * Clients such as Claude Code read `cache_read_input_tokens` and `cache_creation_input_tokens` to show cost and
 * decide when to compact, so the split has to follow the rules the real API follows, not a guess:
 * - The cacheable prefix runs in API order: tools, system, then message content blocks. A breakpoint is a
 *   block with `cache_control: {type: "ephemeral"}` (`ttl` "5m", the default, or "1h"); at most 4, and no
 *   1 h breakpoint after a 5 min one (both rejected with Anthropic's 400 text, see `cacheablePrefix`).
 * - Writing: each breakpoint whose prefix reaches the model's minimum (`minimumCacheableTokens`) stores an
 *   entry for the prefix ending at that block. Shorter prefixes are neither written nor read.
 * - Reading: for each breakpoint the simulator checks the prefix ending at the breakpoint and at the earlier
 *   block boundaries, 20 positions in all counting the breakpoint itself (Anthropic's documented look-back
 *   window), and takes the longest prefix found over all breakpoints. An entry written at the last breakpoint
 *   of the previous turn is therefore found as long as the conversation grew by fewer than 20 blocks.
 * - Usage: `cache_read_input_tokens` is the hit prefix; `cache_creation_input_tokens` runs from the hit to
 *   the last cacheable breakpoint, split by the lifetime of the breakpoint that ends each stretch into
 *   `cache_creation.ephemeral_1h_input_tokens` and `ephemeral_5m_input_tokens`; `input_tokens` is what
 *   follows the last breakpoint. The three add up to the estimator's count (or to `total` when the caller
 *   passes a calibrated one).
 * - Lifetime: an entry lives 5 minutes (or 1 hour) after its last use; a hit refreshes the entry it read and
 *   every breakpoint's entry is written or refreshed. The clock is injected.
 * - Scope: digests are seeded with the client key and the model, so one tenant never reads another's entries,
 *   and the store holds digests and token counts only.
 * A request costs one `lookup` and, when the caller commits (once the upstream answered), one `upsert`; hits
 * and misses are counted at the lookup.
 */
import type { ClaudeRequest } from "../claude/request_schema.ts";
import { BlockHasher } from "./block_hasher.ts";
import {
  type CacheablePrefix,
  cacheablePrefix,
  type CacheTtl,
  PrefixContext,
  type TokenCounter,
} from "./cacheable_prefix.ts";
import type { CacheEntry, CacheEntryStore } from "./cache_entry_store.ts";
import { minimumCacheableTokens } from "./minimum_cacheable_tokens.ts";

export const TTL_MS: Record<CacheTtl, number> = { "5m": 5 * 60_000, "1h": 60 * 60_000 };

/** Blocks checked per breakpoint, the breakpoint included. */
export const LOOKBACK_BLOCKS = 20;

/** The input side of a Claude `usage` object. */
export interface CacheUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface SimulationInput {
  request: Pick<ClaudeRequest, "model" | "system" | "messages" | "tools" | "extra">;
  /** The client key the request came with ("" when there is none); entries never cross keys. */
  keyId: string;
  /** The model whose cache this is; defaults to `request.model`. */
  model?: string;
  /** Input tokens to split (e.g. a calibrated count); defaults to the estimator's count of the request. */
  total?: number;
  /**
   * Turns the estimator's count into the total to split (e.g. a calibration); used when `total` is absent, so
   * a caller need not count the request a second time: the walk's own count equals `countRequest`.
   */
  calibrate?: (estimate: number) => number;
}

export interface CacheSimulation {
  usage: CacheUsage;
  /** The input total the usage adds up to. */
  total: number;
  /** Whether any prefix was read from the cache. */
  hit: boolean;
  /** Writes the entries this request creates and refreshes the ones it used; one store write, once. */
  commit(): Promise<void>;
}

export interface PreparedSimulation {
  /** The input total the usage will add up to. */
  total: number;
  /** The estimator's count of the request (equal to `countRequest`), before any calibration. */
  estimate: number;
  /** One store lookup; returns the usage split and the commit for this request. */
  simulate(): Promise<CacheSimulation>;
}

export interface PromptCacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 before any cacheable request. */
  hitRate: number;
  entries: number;
  evictions: number;
}

export interface PromptCacheSimulatorOptions {
  counter: TokenCounter;
  store: CacheEntryStore;
  now: () => number;
  minimumTokens?: (model: string) => number;
  /** Bound of the in-process memo of text pieces (total characters; 0 turns it off). */
  memoChars?: number;
  /** Told of every decided lookup (a request with a cacheable breakpoint): the server's metrics. */
  onLookup?: (hit: boolean) => void;
}

interface Plan {
  prefix: CacheablePrefix;
  /** Prefix token counts scaled to the requested total. */
  scaled: number[];
  total: number;
  /** Breakpoints long enough to be cached, in order. */
  cacheable: CacheablePrefix["breakpoints"];
  /** Candidate positions for a hit, and their keys. */
  positions: number[];
  keys: string[];
}

export class PromptCacheSimulator {
  #store: CacheEntryStore;
  #now: () => number;
  #minimum: (model: string) => number;
  #context: PrefixContext;
  #hits = 0;
  #misses = 0;
  #onLookup: ((hit: boolean) => void) | undefined;

  constructor(options: PromptCacheSimulatorOptions) {
    this.#store = options.store;
    this.#onLookup = options.onLookup;
    this.#now = options.now;
    this.#minimum = options.minimumTokens ?? minimumCacheableTokens;
    this.#context = new PrefixContext(options.counter, new BlockHasher(), { memoChars: options.memoChars });
  }

  /**
   * Walks the request: validates its breakpoints (throws Anthropic's 400), counts and hashes it. Synchronous,
   * so a gateway can call it before it picks an account, take `total` as the request's input count (it equals
   * `countRequest`), and run the lookup later with `simulate()`.
   */
  prepare(input: SimulationInput): PreparedSimulation {
    const plan = this.#plan(input);
    return { total: plan.total, estimate: plan.prefix.total, simulate: () => this.#simulate(plan) };
  }

  /** `prepare` and `simulate` in one step. */
  simulate(input: SimulationInput): Promise<CacheSimulation> {
    return this.#simulate(this.#plan(input));
  }

  async #simulate(plan: Plan): Promise<CacheSimulation> {
    const { scaled, total, cacheable } = plan;
    if (cacheable.length === 0) {
      return { usage: split(total, 0, 0, 0), total, hit: false, commit: () => Promise.resolve() };
    }
    const found = await this.#store.lookup(plan.keys, this.#now());
    let hitAt = -1;
    let hitEntry: CacheEntry | undefined;
    for (let i = 0; i < plan.positions.length; i++) {
      const entry = found.get(plan.keys[i]!);
      if (entry && plan.positions[i]! > hitAt) {
        hitAt = plan.positions[i]!;
        hitEntry = entry;
      }
    }
    const read = hitAt >= 0 ? scaled[hitAt]! : 0;
    let oneHour = 0;
    let fiveMin = 0;
    let covered = read;
    for (const bp of cacheable) {
      const end = scaled[bp.block]!;
      if (end <= covered) continue;
      if (bp.ttl === "1h") oneHour += end - covered;
      else fiveMin += end - covered;
      covered = end;
    }
    if (read > 0) this.#hits++;
    else this.#misses++;
    this.#onLookup?.(read > 0);

    let committed = false;
    const commit = async () => {
      if (committed) return;
      committed = true;
      const now = this.#now();
      const writes = new Map<string, CacheEntry>();
      const put = (key: string, tokens: number, ttlMs: number, existing: CacheEntry | undefined) => {
        const previous = writes.get(key) ?? existing;
        writes.set(key, {
          key,
          tokens,
          ttlMs: Math.max(ttlMs, previous?.ttlMs ?? 0),
          expiresAt: Math.max(now + ttlMs, previous?.expiresAt ?? 0),
        });
      };
      if (hitEntry) put(hitEntry.key, hitEntry.tokens, hitEntry.ttlMs, hitEntry);
      for (const bp of cacheable) {
        const key = plan.prefix.chain.key(bp.block);
        put(key, scaled[bp.block]!, TTL_MS[bp.ttl], found.get(key));
      }
      await this.#store.upsert([...writes.values()], now);
    };
    return { usage: split(total, read, fiveMin, oneHour), total, hit: read > 0, commit };
  }

  async stats(): Promise<PromptCacheStats> {
    const store = await this.#store.stats(this.#now());
    const decided = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      hitRate: decided === 0 ? 0 : this.#hits / decided,
      entries: store.entries,
      evictions: store.evictions,
    };
  }

  #plan(input: SimulationInput): Plan {
    const model = input.model ?? input.request.model;
    const scope = `${input.keyId}\u0000${model}`;
    const prefix = cacheablePrefix(input.request, scope, this.#context);
    const total = input.total ?? input.calibrate?.(prefix.total) ?? prefix.total;
    const factor = prefix.total > 0 ? total / prefix.total : 1;
    const scaled = factor === 1
      ? prefix.prefixTokens
      : prefix.prefixTokens.map((n) => Math.round(n * factor));
    const minimum = this.#minimum(model);
    const cacheable = prefix.breakpoints.filter((bp) => scaled[bp.block]! >= minimum);
    const seen = new Set<number>();
    const positions: number[] = [];
    const keys: string[] = [];
    for (const bp of cacheable) {
      for (let p = bp.block; p >= 0 && p > bp.block - LOOKBACK_BLOCKS; p--) {
        if (scaled[p]! < minimum) break;
        if (seen.has(p)) continue;
        seen.add(p);
        positions.push(p);
        keys.push(prefix.chain.key(p));
      }
    }
    return { prefix, scaled, total, cacheable, positions, keys };
  }
}

function split(total: number, read: number, fiveMin: number, oneHour: number): CacheUsage {
  const creation = fiveMin + oneHour;
  return {
    input_tokens: Math.max(0, total - read - creation),
    cache_creation_input_tokens: creation,
    cache_read_input_tokens: read,
    cache_creation: { ephemeral_5m_input_tokens: fiveMin, ephemeral_1h_input_tokens: oneHour },
  };
}
