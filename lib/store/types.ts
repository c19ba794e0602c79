/**
 * The store's one asynchronous repository interface and the records it holds.
 *
 * Two implementations sit behind it: SQLite (`node:sqlite`, the embedded default) and MySQL (several
 * instances sharing the work). Only `lib/store/` speaks SQL. Account fields keep their established
 * names (`label, clientId, clientSecret, refreshToken, accessToken, other, enabled, type,
 * weight, rate_limit_per_hour`) so its users' scripts keep working; volatile state (token expiry, cooldowns,
 * parking, disabling) lives in its own columns, not in the `other` JSON, so concurrent writers never
 * overwrite each other's changes.
 */

import type { ClientKeyRepo, KeyWindowRepo } from "./types_keys.ts";
import type { UsageRepo } from "./types_usage.ts";
export type {
  ClientKey,
  ClientKeyRecord,
  ClientKeyRepo,
  ClientKeySettings,
  KeyChargeResult,
  KeyWindowCharge,
  KeyWindowCounts,
  KeyWindowKind,
  KeyWindowRepo,
} from "./types_keys.ts";
export type {
  AccountActivity,
  ActivityCounts,
  SeriesBucket,
  SeriesGroup,
  SeriesQuery,
  SeriesRow,
  UsageFilter,
  UsageRecord,
  UsageRepo,
  UsageSource,
  UsageSummaryRow,
} from "./types_usage.ts";

export type AccountType = "amazonq" | "gemini" | "custom_api";
export const ACCOUNT_TYPES: readonly AccountType[] = ["amazonq", "gemini", "custom_api"];

export interface Account {
  id: string;
  label: string | null;
  type: AccountType;
  clientId: string | null;
  clientSecret: string | null;
  refreshToken: string | null;
  accessToken: string | null;
  /** When the access token expires (epoch ms), if known. */
  tokenExpiresAt: number | null;
  other: Record<string, unknown>;
  enabled: boolean;
  weight: number;
  rate_limit_per_hour: number;
  /** Requests this account may serve at once (0: no cap). */
  max_inflight: number;
  /** Why the account was disabled automatically (suspended, invalid_grant ...), or null. */
  disabled_reason: string | null;
  disabled_at: number | null;
  /** Throttled: not selected before this time (epoch ms). */
  cooldown_until: number | null;
  /** Quota exhausted: parked until its reset time (epoch ms). */
  parked_until: number | null;
  last_error: string | null;
  last_used_at: number | null;
  last_refresh_time: string | null;
  last_refresh_status: string;
  created_at: string;
  updated_at: string;
}

export interface NewAccount {
  label?: string | null;
  type: AccountType;
  clientId?: string | null;
  clientSecret?: string | null;
  refreshToken?: string | null;
  accessToken?: string | null;
  tokenExpiresAt?: number | null;
  other?: Record<string, unknown>;
  enabled?: boolean;
  weight?: number;
  rate_limit_per_hour?: number;
  max_inflight?: number;
}

/** Fields an operator may change; `null` clears a nullable field. */
export type AccountPatch = Partial<
  Pick<
    Account,
    | "label"
    | "clientId"
    | "clientSecret"
    | "refreshToken"
    | "accessToken"
    | "tokenExpiresAt"
    | "other"
    | "enabled"
    | "weight"
    | "rate_limit_per_hour"
    | "max_inflight"
    | "disabled_reason"
    | "disabled_at"
    | "cooldown_until"
    | "parked_until"
    | "last_error"
    | "last_refresh_time"
    | "last_refresh_status"
  >
>;

/** The result of a token refresh, stored atomically. */
export interface TokenUpdate {
  accessToken: string;
  /** A rotated refresh token, stored in the same statement as the access token. */
  refreshToken?: string;
  tokenExpiresAt: number | null;
  /** Keys merged into `other` (e.g. a Gemini project id); never replaces it whole. */
  otherPatch?: Record<string, unknown>;
  refreshedAt: string;
}

export type CallOutcome = "success" | "failure";

export interface AccountStats {
  account_id: string;
  calls_last_hour: number;
  calls_last_day: number;
  total_calls: number;
  successes: number;
  failures: number;
  failures_by_class: Record<string, number>;
}

export interface AdminUser {
  id: string;
  username: string;
  password_hash: string;
}

export interface AdminSession {
  token_hash: string;
  admin_id: string;
  expires_at: number;
  created_at: number;
}

export interface LoginAttempts {
  key: string;
  failures: number;
  /** Attempt times (epoch ms) in the current rate window. */
  window_start: number;
  window_count: number;
  locked_until: number | null;
}

export interface AccountRepo {
  list(filter?: { type?: AccountType; enabled?: boolean }): Promise<Account[]>;
  get(id: string): Promise<Account | null>;
  create(input: NewAccount): Promise<Account>;
  update(id: string, patch: AccountPatch): Promise<Account | null>;
  /** Merges keys into `other` atomically (a `null` value removes the key). */
  patchOther(id: string, patch: Record<string, unknown>): Promise<void>;
  delete(id: string): Promise<boolean>;
  saveTokens(id: string, update: TokenUpdate): Promise<void>;
  /** Records one upstream call (success, or failure with its class) at `at` (epoch ms). */
  recordCall(id: string, outcome: CallOutcome, failureClass: string | null, at: number): Promise<void>;
  /** Calls recorded since `since` (epoch ms): the sliding rate-limit window. */
  countCallsSince(id: string, since: number): Promise<number>;
  /** Calls since `since` for every account at once (one query for selection). */
  countAllCallsSince(since: number): Promise<Map<string, number>>;
  stats(id: string, now: number): Promise<AccountStats>;
  /** Deletes call records older than `before` (epoch ms); returns how many. */
  pruneCalls(before: number): Promise<number>;
  count(): Promise<{ total: number; enabled: number }>;
}

export interface ConfigRepo {
  getAll(): Promise<Record<string, unknown>>;
  /** Writes every entry in one transaction. */
  putMany(entries: Record<string, unknown>): Promise<void>;
  /** Inserts defaults for keys that are missing; never overwrites. */
  seed(defaults: Record<string, unknown>): Promise<void>;
}

export interface AdminRepo {
  count(): Promise<number>;
  /** Creates the admin only if none exists (atomic); false when one already did. */
  createFirst(user: AdminUser): Promise<boolean>;
  findByUsername(username: string): Promise<AdminUser | null>;
  get(id: string): Promise<AdminUser | null>;
}

export interface SessionRepo {
  create(session: AdminSession): Promise<void>;
  get(tokenHash: string): Promise<AdminSession | null>;
  delete(tokenHash: string): Promise<void>;
  deleteExpired(now: number): Promise<number>;
}

export interface LoginAttemptRepo {
  get(key: string): Promise<LoginAttempts | null>;
  put(attempts: LoginAttempts): Promise<void>;
  clear(key: string): Promise<void>;
}

/** The prompt-cache simulation's shared entries (digests and token counts only). */
export interface CacheEntryRepo {
  lookup(
    keys: readonly string[],
    now: number,
  ): Promise<Array<{ key: string; tokens: number; ttlMs: number; expiresAt: number }>>;
  upsert(
    entries: ReadonlyArray<{ key: string; tokens: number; ttlMs: number; expiresAt: number }>,
    now: number,
  ): Promise<void>;
  /** Live entries and the evictions counted so far. */
  stats(now: number): Promise<{ entries: number; evictions: number }>;
  /** Drops expired entries, then the least recently used beyond `maxEntries`; returns the evicted count. */
  prune(now: number, maxEntries: number): Promise<{ expired: number; evicted: number }>;
}

/** Accounting settings shared by instances (the price table, the token calibration) as JSON documents. */
export interface SettingRepo {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

export interface LeaseRepo {
  /** Takes or renews the named lease for `holder` until `now + ttlMs`; false if another holder has it. */
  acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
}

/** Pending OAuth sign-ins (`state` -> what completing it needs), single use, shared by all instances. */
export interface OAuthStateRepo {
  /**
   * Stores a pending sign-in, first dropping expired ones; false (nothing stored) when `max` unexpired ones
   * are already waiting, so a public page cannot grow the table without bound.
   */
  put(state: string, data: string, expiresAt: number, now: number, max: number): Promise<boolean>;
  /** Removes and returns a pending sign-in (single use), or null. */
  take(state: string): Promise<{ data: string; expiresAt: number } | null>;
}

export interface MetaRepo {
  get(key: string): Promise<string | null>;
  /** Sets the value only if the key is missing; returns the value now stored. */
  setIfMissing(key: string, value: string): Promise<string>;
}

/** The parts of the store that processes cache, each with its own change counter. */
export type StoreArea = "accounts" | "config" | "client_keys";

/**
 * How caches learn that cached store state changed. Every write to an area bumps the area's counter in the
 * database in the same transaction, so every process sharing the database can notice it with one
 * primary-key read; writes through this `Store` object are also counted in memory, so this process's own
 * caches notice them at once, without a read.
 */
export interface StoreChanges {
  /** The area's counter as stored (changes with every committed write from any process). */
  version(area: StoreArea): Promise<number>;
  /** How many writes to the area this `Store` object has committed. */
  localWrites(area: StoreArea): number;
}

export interface Store {
  readonly kind: "sqlite" | "mysql";
  /** Change counters for caches of accounts, routing config and client keys. */
  readonly changes: StoreChanges;
  readonly accounts: AccountRepo;
  readonly config: ConfigRepo;
  readonly clientKeys: ClientKeyRepo;
  readonly keyWindows: KeyWindowRepo;
  readonly admins: AdminRepo;
  readonly sessions: SessionRepo;
  readonly loginAttempts: LoginAttemptRepo;
  readonly usage: UsageRepo;
  readonly cacheEntries: CacheEntryRepo;
  readonly settings: SettingRepo;
  readonly leases: LeaseRepo;
  readonly meta: MetaRepo;
  readonly oauthStates: OAuthStateRepo;
  /** Schema version after migrations. */
  schemaVersion(): Promise<number>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
