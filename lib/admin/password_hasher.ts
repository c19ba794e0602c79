/**
 * Admin password hashing with scrypt (`node:crypto`), in a self-describing format
 * `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` so parameters can be raised later without breaking old hashes.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

export class PasswordHasher {
  #n: number;
  #r = 8;
  #p = 1;

  /** `cost` is scrypt's N (a power of two); 2^15 in production, lower in tests. */
  constructor(options: { cost?: number } = {}) {
    this.#n = options.cost ?? 1 << 15;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await derive(password, salt, this.#n, this.#r, this.#p);
    return ["scrypt", this.#n, this.#r, this.#p, salt.toString("base64"), key.toString("base64")].join("$");
  }

  /** Constant-time check; false for malformed or foreign hashes (e.g. a bcrypt hash from an older database). */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split("$");
    if (parts.length !== 6 || parts[0] !== "scrypt") return false;
    const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    if (![n, r, p].every((v) => Number.isInteger(v) && v > 0) || n > 1 << 20) return false;
    const salt = Buffer.from(parts[4]!, "base64");
    const expected = Buffer.from(parts[5]!, "base64");
    const actual = await derive(password, salt, n, r, p);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  /** Runs one derivation to spend the same time when the user does not exist. */
  async burn(password: string): Promise<void> {
    await derive(password, Buffer.alloc(16), this.#n, this.#r, this.#p);
  }
}
