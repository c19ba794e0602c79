/**
 * SHA-256 digests of high-entropy secrets (client keys, session tokens), so the store never holds them in
 * the clear, and a constant-time comparison of two digests.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export function secretDigest(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
