/**
 * `BlockHasher`: 128-bit digests of prompt blocks and of the prefixes they form, for the prompt-cache simulation.
 *
 * The simulation must recognise "the same prefix as before" without keeping any prompt text, and it runs on
 * every request, so the hash has to be fast on a few hundred kilobytes of history: SHA-256 through
 * `node:crypto` costs a few microseconds of call overhead per block, which a 300-block Claude Code request
 * turns into a millisecond. This is MurmurHash3 x86_128 over the UTF-8 bytes (read as little-endian 32-bit
 * words; every platform Deno runs on is little-endian, and instances sharing a database must agree), which is
 * not cryptographic but spreads well; 128 bits keep accidental collisions out of reach for any cache size.
 * Digests of pieces are chained into prefix digests by `PrefixChain`. The encoding buffer is reused between
 * calls (one hasher per simulator, never shared across threads).
 */

import { type Digest128, murmur3 } from "./murmur3.ts";

export type { Digest128 };

const { C1, C2, C3, C4, rotl } = murmur3;

export class BlockHasher {
  #encoder = new TextEncoder();
  #bytes = new Uint8Array(64 * 1024);
  #words = new Uint32Array(this.#bytes.buffer);

  /** The digest of a string's UTF-8 bytes. */
  digest(text: string, seed = 0): Digest128 {
    if (text.length * 3 > this.#bytes.length) {
      let size = this.#bytes.length;
      while (size < text.length * 3) size *= 2;
      this.#bytes = new Uint8Array(size);
      this.#words = new Uint32Array(this.#bytes.buffer);
    }
    const length = this.#encoder.encodeInto(text, this.#bytes).written;
    return this.#murmur(length, seed, seed, seed, seed);
  }

  #murmur(length: number, h1: number, h2: number, h3: number, h4: number): Digest128 {
    const words = this.#words;
    const blocks = length >>> 4;
    for (let i = 0; i < blocks; i++) {
      const w = i << 2;
      let k1 = words[w]!;
      let k2 = words[w + 1]!;
      let k3 = words[w + 2]!;
      let k4 = words[w + 3]!;
      k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
      h1 ^= k1;
      h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
      k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
      h2 ^= k2;
      h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
      k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
      h3 ^= k3;
      h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
      k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
      h4 ^= k4;
      h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
    }
    const bytes = this.#bytes;
    const tail = blocks << 4;
    let k1 = 0, k2 = 0, k3 = 0, k4 = 0;
    switch (length & 15) {
      case 15:
        k4 ^= bytes[tail + 14]! << 16;
      // falls through
      case 14:
        k4 ^= bytes[tail + 13]! << 8;
      // falls through
      case 13:
        k4 ^= bytes[tail + 12]!;
        k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
        h4 ^= k4;
      // falls through
      case 12:
        k3 ^= bytes[tail + 11]! << 24;
      // falls through
      case 11:
        k3 ^= bytes[tail + 10]! << 16;
      // falls through
      case 10:
        k3 ^= bytes[tail + 9]! << 8;
      // falls through
      case 9:
        k3 ^= bytes[tail + 8]!;
        k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
        h3 ^= k3;
      // falls through
      case 8:
        k2 ^= bytes[tail + 7]! << 24;
      // falls through
      case 7:
        k2 ^= bytes[tail + 6]! << 16;
      // falls through
      case 6:
        k2 ^= bytes[tail + 5]! << 8;
      // falls through
      case 5:
        k2 ^= bytes[tail + 4]!;
        k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
        h2 ^= k2;
      // falls through
      case 4:
        k1 ^= bytes[tail + 3]! << 24;
      // falls through
      case 3:
        k1 ^= bytes[tail + 2]! << 16;
      // falls through
      case 2:
        k1 ^= bytes[tail + 1]! << 8;
      // falls through
      case 1:
        k1 ^= bytes[tail]!;
        k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
        h1 ^= k1;
    }
    return murmur3.finish(h1, h2, h3, h4, length);
  }
}
