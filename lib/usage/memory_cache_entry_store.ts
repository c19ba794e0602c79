/**
 * `MemoryCacheEntryStore`: the prompt-cache entries of one process, bounded, least recently used evicted first.
 *
 * A `Map` keeps insertion order, so re-inserting an entry on every hit or write makes the first key the least
 * recently used one. Expired entries are dropped when a lookup meets them and swept before stats are read;
 * when the bound is reached the oldest entry goes (an eviction if it was still alive).
 */
import type { CacheEntry, CacheEntryStore, CacheEntryStoreStats } from "./cache_entry_store.ts";

export class MemoryCacheEntryStore implements CacheEntryStore {
  #entries = new Map<string, CacheEntry>();
  #maxEntries: number;
  #evictions = 0;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? 100_000);
  }

  lookup(keys: readonly string[], now: number): Promise<Map<string, CacheEntry>> {
    const found = new Map<string, CacheEntry>();
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (!entry) continue;
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
        continue;
      }
      found.set(key, { ...entry });
    }
    return Promise.resolve(found);
  }

  upsert(entries: readonly CacheEntry[], now: number): Promise<void> {
    for (const entry of entries) {
      this.#entries.delete(entry.key);
      while (this.#entries.size >= this.#maxEntries) {
        const [oldest, value] = this.#entries.entries().next().value!;
        this.#entries.delete(oldest);
        if (value.expiresAt > now) this.#evictions++;
      }
      this.#entries.set(entry.key, { ...entry });
    }
    return Promise.resolve();
  }

  stats(now: number): Promise<CacheEntryStoreStats> {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    return Promise.resolve({ entries: this.#entries.size, evictions: this.#evictions });
  }
}
