/**
 * Keeps each Gemini account's per-model quota fresh in the store, off the request path.
 *
 * Run by `Deno.cron` and, for one account, on demand by an admin (`GET /v2/accounts/{id}/quota?refresh=true`,
 * at most once a minute per account). For every enabled Gemini account whose stored quota is older than
 * `maxAgeMs`, it takes a lease (so two instances do not both call Google), reads `fetchAvailableModels`
 * and stores `other.quota` with its time. Models with no quota left are parked until their reset time in
 * `other.quota_parked`, which selection already honours; models with quota again are unparked. The donate
 * page and the admin console read only what this job stored: a page view never calls Google, so
 * a public page cannot be turned into a stream of upstream calls.
 */
import type { TokenSource } from "../accounts/token_source.ts";
import type { Account, Store } from "../store/types.ts";
import type { ModelQuota } from "./code_assist_client.ts";

export type QuotaFetcher = (account: Account, accessToken: string) => Promise<Record<string, ModelQuota>>;

export interface QuotaJobDeps {
  store: Store;
  tokens: TokenSource;
  fetchQuota: QuotaFetcher;
  now: () => number;
  holder: string;
  maxAgeMs: number;
}

export interface QuotaJobResult {
  due: number;
  updated: number;
  failed: number;
}

function quotaAge(account: Account, now: number): number {
  const at = account.other.quota_updated_at;
  const t = typeof at === "string" ? Date.parse(at) : NaN;
  return Number.isNaN(t) ? Infinity : now - t;
}

/** Refreshes and stores one account's quota; returns it. Throws on upstream failure. */
export async function refreshAccountQuota(
  deps: Pick<QuotaJobDeps, "store" | "tokens" | "fetchQuota" | "now">,
  account: Account,
): Promise<Record<string, ModelQuota>> {
  const token = await deps.tokens.accessToken(account);
  const quota = await deps.fetchQuota(account, token);
  const now = deps.now();
  const parked: Record<string, number> = {};
  const previous = account.other.quota_parked;
  if (previous && typeof previous === "object") {
    for (const [model, until] of Object.entries(previous as Record<string, unknown>)) {
      if (typeof until === "number" && until > now && !(model in quota)) parked[model] = until;
    }
  }
  for (const [model, q] of Object.entries(quota)) {
    const reset = q.resetTime ? Date.parse(q.resetTime) : NaN;
    if (q.remainingFraction <= 0) {
      parked[model] = Number.isNaN(reset) || reset <= now ? now + 3_600_000 : reset;
    }
  }
  await deps.store.accounts.patchOther(account.id, {
    quota,
    quota_updated_at: new Date(now).toISOString(),
    quota_parked: parked,
  });
  return quota;
}

export async function runGeminiQuotaJob(deps: QuotaJobDeps): Promise<QuotaJobResult> {
  const now = deps.now();
  const due = (await deps.store.accounts.list({ type: "gemini", enabled: true }))
    .filter((a) => quotaAge(a, now) >= deps.maxAgeMs);
  const result: QuotaJobResult = { due: due.length, updated: 0, failed: 0 };
  for (const account of due) {
    const lease = `quota:${account.id}`;
    if (!(await deps.store.leases.acquire(lease, deps.holder, deps.now(), 60_000))) continue;
    try {
      await refreshAccountQuota(deps, account);
      result.updated++;
    } catch {
      result.failed++;
    } finally {
      await deps.store.leases.release(lease, deps.holder);
    }
  }
  return result;
}
