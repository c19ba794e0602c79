/**
 * The scheduled accounting maintenance (run by `Deno.cron` in `main.ts`): rolls complete hours of usage
 * records up into `usage_hourly`, deletes raw records past `USAGE_RETENTION_DAYS` and aggregates older than
 * a year, and bounds the prompt-cache table (expired entries, then the least recently used beyond the cap).
 *
 * Several instances may run it at the same minute: a lease in the store lets one of them work and the
 * others skip, and every step is idempotent anyway (an hour is recomputed whole from its raw records, a
 * delete of what is already gone deletes nothing), so a run that lost its lease midway does no harm.
 */
import type { Store } from "../store/types.ts";

const DAY = 86_400_000;
const LEASE = "usage-maintenance";
const LEASE_MS = 10 * 60_000;

export interface UsageMaintenanceDeps {
  store: Store;
  now: () => number;
  holder: string;
  retentionDays: number;
  cacheMaxEntries: number;
  /** Days the hourly aggregates are kept. */
  hourlyRetentionDays?: number;
}

export interface UsageMaintenanceResult {
  ran: boolean;
  hoursRolledUp: number;
  rawDeleted: number;
  hourlyDeleted: number;
  cacheExpired: number;
  cacheEvicted: number;
}

export async function runUsageMaintenance(deps: UsageMaintenanceDeps): Promise<UsageMaintenanceResult> {
  const result: UsageMaintenanceResult = {
    ran: false,
    hoursRolledUp: 0,
    rawDeleted: 0,
    hourlyDeleted: 0,
    cacheExpired: 0,
    cacheEvicted: 0,
  };
  const { store } = deps;
  if (!(await store.leases.acquire(LEASE, deps.holder, deps.now(), LEASE_MS))) return result;
  try {
    result.ran = true;
    const now = deps.now();
    result.hoursRolledUp = await store.usage.rollup(now);
    const pruned = await store.usage.prune(
      now - deps.retentionDays * DAY,
      now - (deps.hourlyRetentionDays ?? 365) * DAY,
    );
    result.rawDeleted = pruned.raw;
    result.hourlyDeleted = pruned.hourly;
    const cache = await store.cacheEntries.prune(now, deps.cacheMaxEntries);
    result.cacheExpired = cache.expired;
    result.cacheEvicted = cache.evicted;
  } finally {
    await store.leases.release(LEASE, deps.holder);
  }
  return result;
}
