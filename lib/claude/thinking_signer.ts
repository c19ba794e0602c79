/**
 * Signs the thinking blocks this server emits and recognises those signatures when clients echo them back.
 *
 * Claude clients (Claude Code first) send previous `thinking` blocks back verbatim with their `signature`.
 * For upstreams that produce no signature of their own (Amazon Q, OpenAI-format), the server signs the
 * thinking text with an HMAC under a per-installation secret, so a later turn can tell its own thinking
 * from text a client made up. The signature format is `amq2api.v1.<base64url hmac>`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const PREFIX = "amq2api.v1.";

export class ThinkingSigner {
  #secret: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.length < 16) throw new Error("thinking signer secret must be at least 16 bytes");
    this.#secret = secret;
  }

  /** The signature for a thinking text. */
  sign(thinking: string): string {
    return PREFIX + createHmac("sha256", this.#secret).update(thinking).digest("base64url");
  }

  /** True when `signature` is this server's signature of exactly `thinking`. */
  verify(thinking: string, signature: string | undefined): boolean {
    if (!signature || !signature.startsWith(PREFIX)) return false;
    const expected = Buffer.from(this.sign(thinking));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** True when the signature has this server's format (signed by some installation of it). */
  static isOurs(signature: string | undefined): boolean {
    return signature?.startsWith(PREFIX) ?? false;
  }
}
