/**
 * `CacheEntryStore`: where the prompt-cache simulation keeps its entries, behind a batched interface.
 *
 * An entry is a 128-bit prefix digest (already scoped to one client key and model) with the prefix's token
 * count, its lifetime and its expiry: never any prompt text. A request does at most one `lookup` (every key
 * its breakpoints can reach) and one `upsert` (the entries it writes or refreshes), so a store backed by a
 * shared database costs two round trips per request and nothing per stream event. The in-memory store is
 * `MemoryCacheEntryStore`; an SQL one shared by instances implements the same interface.
 */

export interface CacheEntry {
  /** Hex digest of the scoped prefix. */
  key: string;
  /** Tokens of the prefix, as counted when it was written. */
  tokens: number;
  /** Lifetime after the last use, in milliseconds (5 min or 1 h). */
  ttlMs: number;
  /** When the entry stops being usable (epoch ms). */
  expiresAt: number;
}

export interface CacheEntryStoreStats {
  /** Live entries (expired ones may be counted until they are swept). */
  entries: number;
  /** Entries dropped to stay within the bound before they expired. */
  evictions: number;
}

export interface CacheEntryStore {
  /** The unexpired entries among `keys`. */
  lookup(keys: readonly string[], now: number): Promise<Map<string, CacheEntry>>;
  /** Inserts or replaces entries. */
  upsert(entries: readonly CacheEntry[], now: number): Promise<void>;
  stats(now: number): Promise<CacheEntryStoreStats>;
}
