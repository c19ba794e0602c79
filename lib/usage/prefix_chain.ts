/**
 * `PrefixChain`: the running digest of a request's prefix, with a snapshot at every block boundary.
 *
 * Each piece (a block's type tag, its ids, the digests of its texts) is absorbed with one MurmurHash3 x86_128
 * round into four lanes held in place, so walking a 300-block request allocates nothing per block; the state
 * after each block is copied into a flat array and only the boundaries that become cache keys are finalized
 * and turned into hex. Block structure is part of the digest because every block starts with its type tag.
 */
import { type Digest128, murmur3 } from "./murmur3.ts";

const { C1, C2, C3, C4, rotl } = murmur3;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(lane: number): string {
  return HEX[lane >>> 24]! + HEX[(lane >>> 16) & 255]! + HEX[(lane >>> 8) & 255]! + HEX[lane & 255]!;
}

export class PrefixChain {
  #h1: number;
  #h2: number;
  #h3: number;
  #h4: number;
  #absorbed = 0;
  #marks: Uint32Array;
  #count = 0;

  constructor(seed: Digest128, expectedBlocks = 64) {
    [this.#h1, this.#h2, this.#h3, this.#h4] = seed;
    this.#marks = new Uint32Array(Math.max(4, expectedBlocks) * 5);
  }

  /** Blocks marked so far. */
  get length(): number {
    return this.#count;
  }

  absorb(d: Digest128): void {
    let h1 = this.#h1, h2 = this.#h2, h3 = this.#h3, h4 = this.#h4;
    h1 ^= Math.imul(rotl(Math.imul(d[0], C1), 15), C2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(d[1], C2), 16), C3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(d[2], C3), 17), C4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(d[3], C4), 18), C1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
    this.#h1 = h1;
    this.#h2 = h2;
    this.#h3 = h3;
    this.#h4 = h4;
    this.#absorbed++;
  }

  /** Records the state as the end of the next block. */
  mark(): void {
    if ((this.#count + 1) * 5 > this.#marks.length) {
      const grown = new Uint32Array(this.#marks.length * 2);
      grown.set(this.#marks);
      this.#marks = grown;
    }
    const at = this.#count * 5;
    this.#marks[at] = this.#h1;
    this.#marks[at + 1] = this.#h2;
    this.#marks[at + 2] = this.#h3;
    this.#marks[at + 3] = this.#h4;
    this.#marks[at + 4] = this.#absorbed;
    this.#count++;
  }

  /** The finalized digest of the prefix ending with block `i`, as 32 hex characters. */
  key(i: number): string {
    const at = i * 5;
    const m = this.#marks;
    const [h1, h2, h3, h4] = murmur3.finish(m[at]!, m[at + 1]!, m[at + 2]!, m[at + 3]!, m[at + 4]!);
    return hex(h1) + hex(h2) + hex(h3) + hex(h4);
  }
}
