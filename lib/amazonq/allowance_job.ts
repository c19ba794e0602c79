/**
 * Keeps each Amazon Q account's monthly allowance in the store, and parks an account that has none left
 * until the allowance resets.
 *
 * Run by `Deno.cron` for every enabled Amazon Q account whose stored allowance is older than `maxAgeMs`
 * (or whose allowance parking has run out), and for one account right after it failed with an exhausted
 * quota. Each account is read under a lease, so several instances sharing the store call the upstream once.
 * The result is stored as `other.allowance` (`limit`, `used`, `remaining`, `resets_at`, `fetched_at`, ...),
 * which the admin API and console show. An account with nothing remaining gets `parked_until` at the reset
 * time (selection already honours it) and `other.allowance_parked_until` to remember that this job parked
 * it; once a later read shows allowance again, that parking is lifted. A parking set by anything else (an
 * operator, an error's own reset time) is never lifted here.
 */
import type { Account, Store } from "../store/types.ts";
import type { Allowance } from "./allowance_from_usage_limits.ts";
import type { AllowanceFetcher } from "./allowance_client.ts";

export interface AllowanceJobDeps {
  store: Store;
  fetchAllowance: AllowanceFetcher;
  now: () => number;
  /** This instance's name for leases. */
  holder: string;
  /** A stored allowance younger than this is not read again by the schedule. */
  maxAgeMs: number;
}

export interface AllowanceJobResult {
  due: number;
  updated: number;
  failed: number;
  /** Accounts found with nothing left (parked until their reset). */
  exhausted: number;
  /** Skipped because another instance held the account's lease. */
  skipped: number;
}

/** When the upstream gives no reset time for an exhausted allowance, look again after this. */
const RECHECK_MS = 3_600_000;
const LEASE_MS = 120_000;

function fetchedAt(account: Account): number {
  const allowance = account.other.allowance;
  if (!allowance || typeof allowance !== "object") return -Infinity;
  const at = (allowance as Record<string, unknown>).fetched_at;
  const t = typeof at === "string" ? Date.parse(at) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

function parkedByAllowance(account: Account): number | null {
  const until = account.other.allowance_parked_until;
  return typeof until === "number" ? until : null;
}

/** Stores the allowance just read and parks or resumes the account by it. */
async function apply(deps: AllowanceJobDeps, account: Account, allowance: Allowance): Promise<void> {
  const now = deps.now();
  const exhausted = allowance.limit > 0 && allowance.remaining <= 0;
  const stored = { ...allowance, fetched_at: new Date(now).toISOString() };
  if (exhausted) {
    const reset = allowance.resets_at ? Date.parse(allowance.resets_at) : NaN;
    const until = Number.isNaN(reset) || reset <= now ? now + RECHECK_MS : reset;
    await deps.store.accounts.patchOther(account.id, { allowance: stored, allowance_parked_until: until });
    await deps.store.accounts.update(account.id, {
      parked_until: Math.max(until, account.parked_until ?? 0),
      last_error: `allowance exhausted (${allowance.used}/${allowance.limit}); resets ${
        allowance.resets_at ?? "at an unknown time"
      }`,
    });
    return;
  }
  const ours = parkedByAllowance(account);
  await deps.store.accounts.patchOther(account.id, { allowance: stored, allowance_parked_until: null });
  // Lift only the parking this job set (the stored parking is still the one it wrote).
  if (ours !== null && account.parked_until === ours) {
    await deps.store.accounts.update(account.id, { parked_until: null });
  }
}

/**
 * Reads and stores one account's allowance under its lease; false when another instance holds the lease.
 * Throws when the upstream could not be read.
 */
export async function refreshAccountAllowance(deps: AllowanceJobDeps, account: Account): Promise<boolean> {
  const lease = `allowance:${account.id}`;
  if (!(await deps.store.leases.acquire(lease, deps.holder, deps.now(), LEASE_MS))) return false;
  try {
    const allowance = await deps.fetchAllowance(account);
    // Re-read: the account may have changed (parked, patched) while the upstream answered.
    const current = (await deps.store.accounts.get(account.id)) ?? account;
    await apply(deps, current, allowance);
    return true;
  } finally {
    await deps.store.leases.release(lease, deps.holder);
  }
}

export async function runAllowanceJob(deps: AllowanceJobDeps): Promise<AllowanceJobResult> {
  const now = deps.now();
  const due = (await deps.store.accounts.list({ type: "amazonq", enabled: true })).filter((account) => {
    const parked = parkedByAllowance(account);
    return now - fetchedAt(account) >= deps.maxAgeMs || (parked !== null && parked <= now);
  });
  const result: AllowanceJobResult = { due: due.length, updated: 0, failed: 0, exhausted: 0, skipped: 0 };
  for (const account of due) {
    try {
      if (!(await refreshAccountAllowance(deps, account))) {
        result.skipped++;
        continue;
      }
      result.updated++;
      const after = await deps.store.accounts.get(account.id);
      if (after && parkedByAllowance(after) !== null) result.exhausted++;
    } catch {
      result.failed++;
    }
  }
  return result;
}
