/**
 * `TokenManager`: the pool's `TokenSource`, one refresh at a time per account.
 *
 * However many requests (or the scheduled job, or an admin) find a token expired at once, one refresh runs
 * per account and everyone waits for it. A refresh after an upstream refused a token is keyed to the token
 * that was sent (`renew`): before refreshing it re-reads the account, so a token another request or
 * instance already renewed is used instead of refreshed again, and a refused token is never handed back as
 * the new one. The new access token, a rotated refresh token and the expiry are stored in one statement;
 * `invalid_grant` disables the account with the reason instead of retrying forever. Custom API accounts
 * have no refresh: their API key is the token.
 */
import { UpstreamError } from "../errors.ts";
import type { Account, AccountType, Store } from "../store/types.ts";
import type { AccessTokenOptions, RenewedToken, TokenRefresher, TokenSource } from "./token_source.ts";

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
  #inflight = new Map<string, Promise<RenewedToken>>();
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

  accessToken(account: Account, options: AccessTokenOptions = {}): Promise<string> {
    if (account.type === "custom_api") return this.#apiKey(account);
    if (options.staleToken !== undefined) return this.refresh(account.id, options.staleToken);
    if (options.forceRefresh) return this.refresh(account.id, account.accessToken);
    if (this.isFresh(account)) return Promise.resolve(account.accessToken!);
    return this.refresh(account.id);
  }

  async renew(account: Account, staleToken: string): Promise<RenewedToken> {
    if (account.type === "custom_api") return { token: await this.#apiKey(account), refreshed: false };
    return await this.#renew(account.id, staleToken);
  }

  #apiKey(account: Account): Promise<string> {
    if (!account.clientSecret) {
      return Promise.reject(
        new UpstreamError("auth", "custom API account has no API key", { provider: "custom" }),
      );
    }
    return Promise.resolve(account.clientSecret);
  }

  /**
   * Refreshes one account (single-flight). `staleToken` is the token an upstream just refused: if the store
   * already holds a different, fresh token, that one is returned without another refresh.
   */
  async refresh(accountId: string, staleToken?: string | null): Promise<string> {
    return (await this.#renew(accountId, staleToken)).token;
  }

  /**
   * The single flight. A caller that joins a refresh already running and gets back the very token it
   * reported stale (that refresh began before the refusal and found the token still looking fresh) starts
   * one keyed to its token instead of retrying with it.
   */
  async #renew(accountId: string, staleToken?: string | null): Promise<RenewedToken> {
    const running = this.#inflight.get(accountId);
    if (running) {
      const outcome = await running;
      if (staleToken === undefined || staleToken === null || outcome.token !== staleToken) return outcome;
      const again = this.#inflight.get(accountId);
      if (again && again !== running) return await again;
    }
    const job = this.#refreshOnce(accountId, staleToken).finally(() => {
      if (this.#inflight.get(accountId) === job) this.#inflight.delete(accountId);
    });
    this.#inflight.set(accountId, job);
    return await job;
  }

  async #refreshOnce(accountId: string, staleToken: string | null | undefined): Promise<RenewedToken> {
    const account = await this.#store.accounts.get(accountId);
    if (!account) throw new UpstreamError("auth", "account no longer exists", { provider: "store" });
    if (staleToken !== undefined) {
      if (account.accessToken && account.accessToken !== staleToken && this.isFresh(account)) {
        return { token: account.accessToken, refreshed: false };
      }
    } else if (this.isFresh(account)) {
      return { token: account.accessToken!, refreshed: false };
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
      return { token: tokens.accessToken, refreshed: true };
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
