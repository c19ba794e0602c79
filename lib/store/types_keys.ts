/**
 * The store's client-key records (a key, its rules, its usage-window counters) and the repositories that
 * hold them. Re-exported from `types.ts`, the store's one interface; split out to keep that file readable.
 */

export interface ClientKey {
  id: string;
  label: string | null;
  /** First characters of the key, for recognising it in a list. */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

/**
 * A stored key's rules (issue "client keys as tenants"). `null` means no limit; empty allow-lists allow
 * everything. Costs are whole micro-USD so sums never drift.
 */
export interface ClientKeySettings {
  enabled: boolean;
  /** Epoch ms after which the key is refused, or null. */
  expires_at: number | null;
  /** Exact model names and `*` patterns; empty: every model. */
  allowed_models: string[];
  /** Channels (account types); empty: every channel. */
  allowed_channels: string[];
  requests_per_minute: number | null;
  tokens_per_day: number | null;
  tokens_per_month: number | null;
  cost_per_day_micros: number | null;
  cost_per_month_micros: number | null;
  max_concurrency: number | null;
  note: string | null;
}

/** A stored key with its rules and digest, as the key cache holds it (never returned by an API). */
export interface ClientKeyRecord extends ClientKey, ClientKeySettings {
  key_hash: string;
  updated_at: string | null;
}

/** The window a usage counter row covers. */
export type KeyWindowKind = "minute" | "day" | "month";

/** One counter row of a key: requests, tokens and cost in one window. */
export interface KeyWindowCounts {
  kind: KeyWindowKind;
  start: number;
  requests: number;
  tokens: number;
  cost_micros: number;
}

/** What one admission adds to one window, and the limits the window must stay within after adding it. */
export interface KeyWindowCharge {
  kind: KeyWindowKind;
  start: number;
  requests: number;
  tokens: number;
  cost_micros: number;
  limits: { requests?: number; tokens?: number; cost_micros?: number };
}

export type KeyChargeResult =
  | { ok: true; counts: KeyWindowCounts[] }
  /** Nothing was added; `refused` names the first window (and counter) that would have gone over. */
  | {
    ok: false;
    refused: { kind: KeyWindowKind; counter: "requests" | "tokens" | "cost_micros" };
    counts: KeyWindowCounts[];
  };

export interface ClientKeyRepo {
  list(): Promise<ClientKey[]>;
  create(
    id: string,
    keyHash: string,
    prefix: string,
    label: string | null,
    settings?: Partial<ClientKeySettings>,
  ): Promise<ClientKey>;
  /** Every key with its rules and digest (for the key cache and the admin list, which drops the digest). */
  listRecords(): Promise<ClientKeyRecord[]>;
  get(id: string): Promise<ClientKeyRecord | null>;
  /** Changes a key's name and rules; bumps the `client_keys` counter. Null when the key does not exist. */
  update(
    id: string,
    patch: { label?: string | null } & Partial<ClientKeySettings>,
  ): Promise<ClientKeyRecord | null>;
  findByHash(keyHash: string): Promise<ClientKey | null>;
  /** Every key's id and digest, for a cache that checks keys without a query per request. */
  listDigests(): Promise<Array<{ id: string; keyHash: string }>>;
  /** Marks the key used now (`last_used_at`); not a change the caches need to hear about. */
  touch(id: string): Promise<void>;
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
}

/**
 * Per-key usage counters in fixed windows (`key_usage_windows`), shared by every instance on the database.
 * Every change is an atomic `x = x + ?`, so instances never overwrite each other's counts.
 */
export interface KeyWindowRepo {
  /**
   * Adds every charge in one transaction, each guarded by its limits; when one would go over, nothing is
   * added and the answer names it. Either way the counts of the charged windows come back.
   */
  charge(keyId: string, charges: readonly KeyWindowCharge[]): Promise<KeyChargeResult>;
  /** Adds (possibly negative) amounts to existing windows: a settled request's actual use minus its reservation. */
  adjust(
    keyId: string,
    windows: ReadonlyArray<{ kind: KeyWindowKind; start: number }>,
    tokens: number,
    costMicros: number,
  ): Promise<void>;
  /** The counts of the given windows (missing windows are zero). */
  read(
    keyId: string,
    windows: ReadonlyArray<{ kind: KeyWindowKind; start: number }>,
  ): Promise<KeyWindowCounts[]>;
  /** Deletes a key's windows of each kind that started before that kind's current window (epoch ms). */
  prune(keyId: string, current: Record<KeyWindowKind, number>): Promise<number>;
}
