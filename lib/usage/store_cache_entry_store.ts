/**
 * `StoreCacheEntryStore`: the prompt-cache entries in the shared database, so every instance sees the same
 * cache. One `lookup` is one query and one `upsert` one statement, so a simulated request costs one read and
 * one write and nothing per stream event; the table is bounded by the periodic prune (`pruneCacheEntries`).
 */
import type { CacheEntryRepo } from "../store/types.ts";
import type { CacheEntry, CacheEntryStore, CacheEntryStoreStats } from "./cache_entry_store.ts";

export class StoreCacheEntryStore implements CacheEntryStore {
  #repo: CacheEntryRepo;

  constructor(repo: CacheEntryRepo) {
    this.#repo = repo;
  }

  async lookup(keys: readonly string[], now: number): Promise<Map<string, CacheEntry>> {
    const rows = await this.#repo.lookup(keys, now);
    return new Map(rows.map((row) => [row.key, row]));
  }

  upsert(entries: readonly CacheEntry[], now: number): Promise<void> {
    return this.#repo.upsert(entries, now);
  }

  stats(now: number): Promise<CacheEntryStoreStats> {
    return this.#repo.stats(now);
  }
}
