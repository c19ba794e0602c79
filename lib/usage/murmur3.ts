/**
 * `murmur3`: the shared arithmetic of MurmurHash3 x86_128 (its constants, rotation and finalization), used by
 * `BlockHasher` (digests of texts) and `PrefixChain` (running digests of a request's prefix), which must
 * agree bit for bit: a prefix key is only found again if both finalize exactly the same way.
 */

/** Four 32-bit lanes, stored as unsigned numbers. */
export type Digest128 = [number, number, number, number];

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export const murmur3 = {
  C1: 0x239b961b,
  C2: 0xab0e9789,
  C3: 0x38b34ae5,
  C4: 0xa1e38b93,

  rotl(x: number, r: number): number {
    return (x << r) | (x >>> (32 - r));
  },

  /** The final mix of the four lanes with the total length hashed. */
  finish(h1: number, h2: number, h3: number, h4: number, length: number): Digest128 {
    h1 ^= length;
    h2 ^= length;
    h3 ^= length;
    h4 ^= length;
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h3 = fmix(h3);
    h4 = fmix(h4);
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
  },
};
