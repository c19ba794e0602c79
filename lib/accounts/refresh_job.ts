/**
 * The scheduled token refresh (run by `Deno.cron` in `main.ts`, and once at start-up).
 *
 * Refreshes the tokens of enabled Amazon Q and Gemini accounts that expire within the lead time (or have no
 * access token), a few at a time. A lease in the store decides which instance refreshes an account, so two
 * instances running the job at once do not refresh the same token twice; the token manager's single-flight
 * covers the request path of this instance. Idempotent: a run finds nothing to do when tokens are fresh.
 */
import type { Store } from "../store/types.ts";
import type { AccountPool } from "./account_pool.ts";
import { runLimited } from "./run_limited.ts";
import type { TokenManager } from "./token_manager.ts";

export interface RefreshJobDeps {
  store: Store;
  tokens: TokenManager;
  pool: AccountPool;
  now: () => number;
  /** Identifies this instance for leases. */
  holder: string;
  leadMs: number;
  concurrency?: number;
}

export interface RefreshJobResult {
  due: number;
  refreshed: number;
  failed: number;
  skipped: number;
}

export async function runRefreshJob(deps: RefreshJobDeps): Promise<RefreshJobResult> {
  const now = deps.now();
  const accounts = (await deps.store.accounts.list({ enabled: true })).filter((a) =>
    a.type !== "custom_api" && a.refreshToken &&
    (!a.accessToken || (a.tokenExpiresAt !== null && a.tokenExpiresAt - now < deps.leadMs))
  );
  const result: RefreshJobResult = { due: accounts.length, refreshed: 0, failed: 0, skipped: 0 };
  await runLimited(accounts, deps.concurrency ?? 4, async (account) => {
    const lease = `refresh:${account.id}`;
    if (!(await deps.store.leases.acquire(lease, deps.holder, deps.now(), 120_000))) {
      result.skipped++;
      return;
    }
    try {
      await deps.tokens.refresh(account.id);
      result.refreshed++;
    } catch {
      result.failed++;
    } finally {
      await deps.store.leases.release(lease, deps.holder);
    }
  });
  await deps.pool.syncCallWindow();
  return result;
}
