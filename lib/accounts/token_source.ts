/**
 * How channels get access tokens, and how backends refresh them.
 *
 * A backend implements `TokenRefresher` (one HTTP call against its identity endpoint, no store access). The
 * pool's `TokenManager` implements `TokenSource` on top of it: single-flight per account, refresh ahead of
 * expiry, rotated refresh tokens stored atomically, `invalid_grant` disabling the account with the reason.
 */
import type { Account } from "../store/types.ts";

export interface RefreshedTokens {
  accessToken: string;
  /** A rotated refresh token, when the identity endpoint returned one. */
  refreshToken?: string;
  /** Expiry of the access token (epoch ms), from `expiresIn`, or null when unknown. */
  expiresAt: number | null;
  /** Keys to merge into the account's `other` (e.g. a discovered Gemini project). */
  otherPatch?: Record<string, unknown>;
}

export interface TokenRefresher {
  /**
   * Refreshes the account's access token. Throws `UpstreamError` with kind `invalid_grant` when the refresh
   * token is dead (the account needs a new login), `transient` for network trouble or 5xx.
   */
  refresh(account: Account, signal?: AbortSignal): Promise<RefreshedTokens>;
}

export interface AccessTokenOptions {
  /**
   * The token this caller sent and the upstream refused. If the account already holds another token (a
   * concurrent request refreshed it), that one is returned without refreshing; otherwise the account is
   * refreshed once, however many callers report the same refused token.
   */
  staleToken?: string;
  /** Refresh even if the stored token looks valid (an admin's manual refresh). */
  forceRefresh?: boolean;
  signal?: AbortSignal;
}

/** The token to retry with after a refusal, and whether a refresh produced it. */
export interface RenewedToken {
  token: string;
  /**
   * True when a refresh (this caller's or one it joined) produced the token: if the upstream refuses that
   * one too, a refresh does not fix the account. False when a concurrent request had already renewed the
   * token: that one may have been revoked as well, and refusing it says nothing yet.
   */
  refreshed: boolean;
}

export interface TokenSource {
  /** A usable access token for the account; concurrent callers share one refresh per account. */
  accessToken(account: Account, options?: AccessTokenOptions): Promise<string>;
  /**
   * After an upstream refused `staleToken` (the token actually sent): the account's newer token if it
   * already has one, otherwise one refresh per account however many callers report the same token.
   */
  renew(account: Account, staleToken: string, signal?: AbortSignal): Promise<RenewedToken>;
}
