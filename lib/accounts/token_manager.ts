/**
 * `TokenManager`: the pool's `TokenSource`, one refresh at a time per account.
 *
 * However many requests (or the scheduled job, or an admin) find a token expired at once, one refresh runs
 * per account and everyone waits for it (`platform.md` weak spot 19). Before refreshing it re-reads the
 * account, so a token another instance refreshed meanwhile is used instead of refreshed again. The new access
 * token, a rotated refresh token and the expiry are stored in one statement; `invalid_grant` disables the
 * account with the reason instead of retrying forever. Custom API accounts have no refresh: their API key is
 * the token.
 */
import { UpstreamError } from "../errors.ts";
import type { Account, AccountType, Store } from "../store/types.ts";
import type { TokenRefresher, TokenSource } from "./token_source.ts";

export interface TokenManagerOptions {
  /** Refresh this long before the stored expiry. */
  leadMs?: number;
  /** Told the outcome of every refresh that reached the upstream (metrics, alerts). */
  onRefresh?: (account: Account, outcome: "success" | "invalid_grant" | "failed") => void;
}

export class TokenManager implements TokenSource {
  #store: Store;
  #refreshers: Partial<Record<AccountType, TokenRefresher>>;
  #now: () => number;
  #leadMs: number;
  #inflight = new Map<string, Promise<string>>();
  #refreshCount = 0;
  #onRefresh: TokenManagerOptions["onRefresh"];

  constructor(
    store: Store,
    refreshers: Partial<Record<AccountType, TokenRefresher>>,
    now: () => number,
    options: TokenManagerOptions = {},
  ) {
    this.#store = store;
    this.#refreshers = refreshers;
    this.#now = now;
    this.#leadMs = options.leadMs ?? 60_000;
    this.#onRefresh = options.onRefresh;
  }

  /** Refreshes performed by this instance (for stats and tests). */
  get refreshCount(): number {
    return this.#refreshCount;
  }

  /** True when the account's stored access token is usable for a while yet. */
  isFresh(account: Pick<Account, "accessToken" | "tokenExpiresAt">): boolean {
    if (!account.accessToken) return false;
    return account.tokenExpiresAt === null || account.tokenExpiresAt - this.#now() > this.#leadMs;
  }

  accessToken(
    account: Account,
    options: { forceRefresh?: boolean; signal?: AbortSignal } = {},
  ): Promise<string> {
    if (account.type === "custom_api") {
      if (!account.clientSecret) {
        return Promise.reject(
          new UpstreamError("auth", "custom API account has no API key", { provider: "custom" }),
        );
      }
      return Promise.resolve(account.clientSecret);
    }
    if (!options.forceRefresh && this.isFresh(account)) return Promise.resolve(account.accessToken!);
    return this.refresh(account.id, options.forceRefresh ? account.accessToken : undefined);
  }

  /**
   * Refreshes one account (single-flight). `staleToken` is the token an upstream just refused: if the store
   * already holds a different, fresh token, that one is returned without another refresh.
   */
  refresh(accountId: string, staleToken?: string | null): Promise<string> {
    const running = this.#inflight.get(accountId);
    if (running) return running;
    const job = this.#refreshOnce(accountId, staleToken).finally(() => this.#inflight.delete(accountId));
    this.#inflight.set(accountId, job);
    return job;
  }

  async #refreshOnce(accountId: string, staleToken: string | null | undefined): Promise<string> {
    const account = await this.#store.accounts.get(accountId);
    if (!account) throw new UpstreamError("auth", "account no longer exists", { provider: "store" });
    if (staleToken !== undefined) {
      if (account.accessToken && account.accessToken !== staleToken && this.isFresh(account)) {
        return account.accessToken;
      }
    } else if (this.isFresh(account)) {
      return account.accessToken!;
    }
    const refresher = this.#refreshers[account.type];
    if (!refresher) {
      throw new UpstreamError("auth", `no token refresh for ${account.type} accounts`, {
        provider: account.type,
      });
    }
    if (!account.refreshToken) {
      await this.#store.accounts.update(account.id, { last_refresh_status: "failed_missing_credentials" });
      throw new UpstreamError("invalid_grant", "account has no refresh token", { provider: account.type });
    }
    const refreshedAt = new Date(this.#now()).toISOString();
    try {
      const tokens = await refresher.refresh(account);
      this.#refreshCount += 1;
      this.#onRefresh?.(account, "success");
      const update = {
        accessToken: tokens.accessToken,
        tokenExpiresAt: tokens.expiresAt,
        refreshedAt,
        ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
        ...(tokens.otherPatch ? { otherPatch: tokens.otherPatch } : {}),
      };
      await this.#store.accounts.saveTokens(account.id, update);
      return tokens.accessToken;
    } catch (error) {
      const kind = error instanceof UpstreamError ? error.kind : "transient";
      this.#onRefresh?.(account, kind === "invalid_grant" ? "invalid_grant" : "failed");
      const status = kind === "invalid_grant"
        ? "failed_invalid_grant"
        : error instanceof UpstreamError && error.upstreamStatus
        ? `failed_${error.upstreamStatus}`
        : "failed_network";
      const message = error instanceof Error ? error.message : String(error);
      if (kind === "invalid_grant") {
        await this.#store.accounts.update(account.id, {
          enabled: false,
          disabled_reason: `invalid_grant: ${message}`.slice(0, 500),
          disabled_at: this.#now(),
          last_refresh_status: status,
          last_refresh_time: refreshedAt,
          last_error: message.slice(0, 500),
        });
      } else {
        await this.#store.accounts.update(account.id, {
          last_refresh_status: status,
          last_refresh_time: refreshedAt,
          last_error: message.slice(0, 500),
        });
      }
      throw error;
    }
  }
}
