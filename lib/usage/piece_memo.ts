/**
 * `PieceMemo`: the digest and token count of each text piece of a request, remembered between requests.
 *
 * A coding agent resends its whole history every turn, so almost every piece of a request was seen a moment
 * ago; counting and hashing 200 kB again would cost the simulation about a millisecond, recalling it costs a
 * `Map` lookup on a string whose hash the estimator has usually computed already. Like the estimator's own
 * memo, the keys are the texts, in this process's memory only (never written to the cache store or shared),
 * and bounded by their total length: two generations, the young one promoted on use, the old one dropped when
 * the young one is full, which approximates least-recently-used without reordering on every hit.
 */
import type { BlockHasher, Digest128 } from "./block_hasher.ts";

export interface Piece {
  digest: Digest128;
  /** Tokens of the text plus the estimator's per-part overhead. */
  tokens: number;
}

export class PieceMemo {
  #young = new Map<string, Piece>();
  #old = new Map<string, Piece>();
  #youngChars = 0;
  #maxChars: number;
  #count: (text: string) => number;
  #hasher: BlockHasher;

  /** `count` gives a piece's tokens including the per-part overhead; `maxChars` 0 disables the memo. */
  constructor(count: (text: string) => number, hasher: BlockHasher, options: { maxChars?: number } = {}) {
    this.#count = count;
    this.#hasher = hasher;
    this.#maxChars = options.maxChars ?? 8 * 1024 * 1024;
  }

  get(text: string): Piece {
    const young = this.#young.get(text);
    if (young) return young;
    const piece = this.#old.get(text) ?? { digest: this.#hasher.digest(text), tokens: this.#count(text) };
    const half = this.#maxChars / 2;
    if (text.length > half / 4) return piece;
    this.#young.set(text, piece);
    this.#youngChars += text.length;
    if (this.#youngChars > half) {
      this.#old = this.#young;
      this.#young = new Map();
      this.#youngChars = 0;
    }
    return piece;
  }

  /** Pieces remembered and their total length (for tests). */
  get size(): { entries: number; chars: number } {
    let chars = 0;
    for (const key of this.#old.keys()) chars += key.length;
    return { entries: this.#young.size + this.#old.size, chars: chars + this.#youngChars };
  }
}
