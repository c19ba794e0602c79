/**
 * Client keys for the API (`/v1/*`): `x-api-key` or `Authorization: Bearer`.
 *
 * Keys come from `API_KEY` (configuration) and from the `client_keys` table, where they are stored as
 * SHA-256 digests. Comparisons against configured keys are constant-time. With no key configured anywhere
 * the server serves loopback clients only (the reference implementation served the world; `platform.md`
 * weak spot 10).
 */
import { randomBytes } from "node:crypto";
import type { ClientKey, Store } from "../store/types.ts";
import { digestsEqual, secretDigest } from "./secret_digest.ts";

export type KeyCheck =
  | { ok: true; keyId: string }
  | { ok: false; reason: "missing" | "invalid" | "loopback_only" };

export class ClientKeyAuth {
  #configured: readonly string[];
  #store: Store;

  constructor(configuredKeys: readonly string[], store: Store) {
    this.#configured = configuredKeys.map(secretDigest);
    this.#store = store;
  }

  /** True when at least one key exists (in configuration or the store). */
  async keysConfigured(): Promise<boolean> {
    return this.#configured.length > 0 || (await this.#store.clientKeys.count()) > 0;
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
    const stored = await this.#store.clientKeys.findByHash(digest);
    return stored ? { ok: true, keyId: stored.id } : { ok: false, reason: "invalid" };
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
