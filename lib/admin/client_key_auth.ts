/**
 * Client keys for the API (`/v1/*`): `x-api-key` or `Authorization: Bearer`.
 *
 * Keys come from `API_KEY` (configuration: unlimited, not editable) and from the `client_keys` table, where
 * they are stored as SHA-256 digests with their rules. Comparisons against configured keys are
 * constant-time. The stored keys and their rules are cached (`StoreCache`), so checking a key costs no
 * query: a key created, changed or revoked here is in force at once, one changed on another instance within
 * `stalenessMs`. A disabled or expired key is refused here, saying which. "Last used" is written at most
 * once a minute per key and instance. With no key configured anywhere the server serves loopback clients
 * only, so a fresh install is never an open proxy.
 */
import { randomBytes } from "node:crypto";
import { StoreCache } from "../store/store_cache.ts";
import type { ClientKey, ClientKeyRecord, ClientKeySettings, Store } from "../store/types.ts";
import { digestsEqual, secretDigest } from "./secret_digest.ts";

export type KeyCheck =
  | { ok: true; keyId: string }
  | { ok: false; reason: "missing" | "invalid" | "loopback_only" | "disabled" | "expired" };

interface StoredKeys {
  byDigest: Map<string, ClientKeyRecord>;
  byId: Map<string, ClientKeyRecord>;
}

/** How often one instance records that a stored key was used. */
const TOUCH_INTERVAL_MS = 60_000;

export interface ClientKeyAuthOptions {
  /** How long another instance's key change may go unseen (default 1 s). */
  stalenessMs?: number;
  /** Monotonic milliseconds, for the "last used" throttle. */
  clock?: () => number;
  /** Wall-clock epoch ms, for key expiry. */
  now?: () => number;
}

export class ClientKeyAuth {
  #configured: readonly string[];
  #store: Store;
  #stored: StoreCache<StoredKeys>;
  #clock: () => number;
  #now: () => number;
  /** Key id -> when this instance last recorded its use. */
  #touched = new Map<string, number>();

  constructor(configuredKeys: readonly string[], store: Store, options: ClientKeyAuthOptions = {}) {
    this.#configured = configuredKeys.map(secretDigest);
    this.#store = store;
    this.#clock = options.clock ?? (() => performance.now());
    this.#now = options.now ?? Date.now;
    this.#stored = new StoreCache(store.changes, "client_keys", async () => {
      const keys = await store.clientKeys.listRecords();
      const byId = new Map(keys.map((k) => [k.id, k]));
      // Forget throttle entries of keys that no longer exist, so the map stays as small as the table.
      for (const id of this.#touched.keys()) if (!byId.has(id)) this.#touched.delete(id);
      return { byDigest: new Map(keys.map((k) => [k.key_hash, k])), byId };
    }, { stalenessMs: options.stalenessMs ?? 1000, clock: this.#clock });
  }

  /** How many keys `API_KEY` configures (listed as `env:0`, `env:1`, ...). */
  get configuredCount(): number {
    return this.#configured.length;
  }

  /** A stored key with its rules, as cached (within the staleness bound); null for unknown ids. */
  async record(id: string): Promise<ClientKeyRecord | null> {
    return (await this.#stored.get()).byId.get(id) ?? null;
  }

  /** True when at least one key exists (in configuration or the store). */
  async keysConfigured(): Promise<boolean> {
    return this.#configured.length > 0 || (await this.#stored.get()).byId.size > 0;
  }

  /** Checks a presented key; `loopback` says whether the client connected from a loopback address. */
  async check(presented: string | undefined, loopback: boolean): Promise<KeyCheck> {
    if (!(await this.keysConfigured())) {
      return loopback ? { ok: true, keyId: "loopback" } : { ok: false, reason: "loopback_only" };
    }
    if (!presented) return { ok: false, reason: "missing" };
    if (presented.length > 512) return { ok: false, reason: "invalid" };
    const digest = secretDigest(presented);
    let matched = -1;
    // Compare with every configured key so timing does not depend on which one matched.
    this.#configured.forEach((candidate, i) => {
      if (digestsEqual(candidate, digest)) matched = i;
    });
    if (matched >= 0) return { ok: true, keyId: `env:${matched}` };
    const record = (await this.#stored.get()).byDigest.get(digest);
    if (record === undefined) return { ok: false, reason: "invalid" };
    if (!record.enabled) return { ok: false, reason: "disabled" };
    if (record.expires_at !== null && this.#now() >= record.expires_at) {
      return { ok: false, reason: "expired" };
    }
    await this.#touch(record.id);
    return { ok: true, keyId: record.id };
  }

  /** Records that a stored key was used, at most once per interval; a failure here never fails the request. */
  async #touch(id: string): Promise<void> {
    const now = this.#clock();
    const last = this.#touched.get(id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.#touched.set(id, now);
    await this.#store.clientKeys.touch(id).catch(() => {});
  }

  /** Creates a stored key; the plain key is returned once and never again. */
  async create(
    label: string | null,
    settings: Partial<ClientKeySettings> = {},
  ): Promise<{ key: string; record: ClientKey }> {
    const key = `sk-amq-${randomBytes(24).toString("base64url")}`;
    const record = await this.#store.clientKeys.create(
      crypto.randomUUID(),
      secretDigest(key),
      key.slice(0, 10),
      label,
      settings,
    );
    return { key, record };
  }
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}
