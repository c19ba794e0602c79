/**
 * Client keys for the API (`/v1/*`): `x-api-key` or `Authorization: Bearer`.
 *
 * Keys come from `API_KEY` (configuration) and from the `client_keys` table, where they are stored as
 * SHA-256 digests. Comparisons against configured keys are constant-time. The stored digests are cached
 * (`StoreCache`), so checking a key costs no query: a key created or revoked here is in force at once, one
 * created or revoked on another instance within `stalenessMs`. "Last used" is written at most once a minute
 * per key and instance. With no key configured anywhere
 * the server serves loopback clients only, so a fresh install is never an open proxy.
 */
import { randomBytes } from "node:crypto";
import { StoreCache } from "../store/store_cache.ts";
import type { ClientKey, Store } from "../store/types.ts";
import { digestsEqual, secretDigest } from "./secret_digest.ts";

export type KeyCheck =
  | { ok: true; keyId: string }
  | { ok: false; reason: "missing" | "invalid" | "loopback_only" };

/** How often one instance records that a stored key was used. */
const TOUCH_INTERVAL_MS = 60_000;

export interface ClientKeyAuthOptions {
  /** How long another instance's key change may go unseen (default 1 s). */
  stalenessMs?: number;
  /** Monotonic milliseconds, for the "last used" throttle. */
  clock?: () => number;
}

export class ClientKeyAuth {
  #configured: readonly string[];
  #store: Store;
  /** Stored key digest -> key id. */
  #stored: StoreCache<Map<string, string>>;
  #clock: () => number;
  /** Key id -> when this instance last recorded its use. */
  #touched = new Map<string, number>();

  constructor(configuredKeys: readonly string[], store: Store, options: ClientKeyAuthOptions = {}) {
    this.#configured = configuredKeys.map(secretDigest);
    this.#store = store;
    this.#clock = options.clock ?? (() => performance.now());
    this.#stored = new StoreCache(store.changes, "client_keys", async () => {
      const keys = await store.clientKeys.listDigests();
      // Forget throttle entries of keys that no longer exist, so the map stays as small as the table.
      const ids = new Set(keys.map((k) => k.id));
      for (const id of this.#touched.keys()) if (!ids.has(id)) this.#touched.delete(id);
      return new Map(keys.map((k) => [k.keyHash, k.id]));
    }, { stalenessMs: options.stalenessMs ?? 1000, clock: this.#clock });
  }

  /** True when at least one key exists (in configuration or the store). */
  async keysConfigured(): Promise<boolean> {
    return this.#configured.length > 0 || (await this.#stored.get()).size > 0;
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
    const id = (await this.#stored.get()).get(digest);
    if (id === undefined) return { ok: false, reason: "invalid" };
    await this.#touch(id);
    return { ok: true, keyId: id };
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
  async create(label: string | null): Promise<{ key: string; record: ClientKey }> {
    const key = `sk-amq-${randomBytes(24).toString("base64url")}`;
    const record = await this.#store.clientKeys.create(
      crypto.randomUUID(),
      secretDigest(key),
      key.slice(0, 10),
      label,
    );
    return { key, record };
  }
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}
