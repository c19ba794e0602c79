/**
 * `BpeRankTable`: a byte-pair encoding's ranks in a few flat typed arrays, looked up by a byte range.
 *
 * A `Map` from each token's bytes (as a binary string) to its rank costs ~38 MiB of resident memory for
 * `cl100k_base`'s 100k tokens (one heap string and one map entry each), in every isolate that counts. Here the
 * tokens' bytes are concatenated in one `Uint8Array` (~630 KiB), with their start offsets in an `Int32Array`
 * indexed by rank, and an open-addressing hash table (an `Int32Array`, linear probing) maps a hash of the
 * bytes to the rank: ~2.5 MiB in all, built without creating a string per token. A lookup hashes the byte
 * range of the piece being merged in place, so merging allocates nothing either.
 *
 * The arrays live in `SharedArrayBuffer`s and are never written after the build: `parts` can be posted to
 * a worker, which then counts with the same memory instead of loading and building a copy of its own.
 */

/** The table's arrays, as posted to a worker (shared memory, read only). */
export interface BpeRankTableParts {
  bytes: Uint8Array;
  starts: Int32Array;
  slots: Int32Array;
}

/** Hash table slots per token, rounded up to a power of two: probes stay short at a load factor below 0.4. */
const SLOTS_PER_TOKEN = 2.5;

/** base64 character code -> 6-bit value, -1 for anything else. */
const BASE64_VALUES = (() => {
  const values = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
})();

export class BpeRankTable {
  /** All tokens' bytes, in rank order. */
  readonly #bytes: Uint8Array;
  /** `#starts[rank]` .. `#starts[rank + 1]` is the token of that rank in `#bytes`. */
  readonly #starts: Int32Array;
  /** Rank + 1 of the token hashed to each slot; 0 is an empty slot. */
  readonly #slots: Int32Array;
  readonly #mask: number;

  private constructor(bytes: Uint8Array, starts: Int32Array, slots?: Int32Array) {
    this.#bytes = bytes;
    this.#starts = starts;
    if (slots) {
      if ((slots.length & (slots.length - 1)) !== 0) throw new Error("bpe rank table: bad slot count");
      this.#slots = slots;
      this.#mask = slots.length - 1;
      return;
    }
    const tokens = starts.length - 1;
    let size = 1;
    while (size < tokens * SLOTS_PER_TOKEN) size *= 2;
    this.#slots = new Int32Array(new SharedArrayBuffer(size * 4));
    this.#mask = size - 1;
    for (let rank = 0; rank < tokens; rank++) {
      const start = starts[rank]!;
      const end = starts[rank + 1]!;
      // A rank the source skipped has no bytes: it can never match, so it takes no slot.
      if (end === start) continue;
      let slot = hash(bytes, start, end) & this.#mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#slots[slot] = rank + 1;
    }
  }

  /**
   * Builds the table from `js-tiktoken`'s rank format: lines of space-separated fields, a name (ignored),
   * the rank of the line's first token, then the tokens in base64 taking consecutive ranks. The text is read
   * once, character by character, so no string is created per token.
   */
  static fromTiktokenRanks(ranks: string): BpeRankTable {
    // Decoded bytes are at most three quarters of the text.
    const bytes = new Uint8Array(Math.ceil(ranks.length * 3 / 4));
    const starts: number[] = [0];
    let length = 0;
    /** Index of the current field in its line; -1 between fields. */
    let field = 0;
    let fieldsInLine = 0;
    let rank = 0;
    let bits = 0;
    let bitCount = 0;
    const endField = () => {
      if (field === 1) {
        // Empty tokens fill any ranks skipped, so that ranks stay array indexes.
        if (starts.length - 1 > rank) throw new Error(`bpe ranks out of order at rank ${rank}`);
        while (starts.length - 1 < rank) starts.push(length);
      } else if (field >= 2) {
        starts.push(length);
      }
      field = -1;
    };
    for (let i = 0; i < ranks.length; i++) {
      const c = ranks.charCodeAt(i);
      if (c === 0x20 || c === 0x0a) {
        if (field >= 0) endField();
        if (c === 0x0a) fieldsInLine = 0;
        continue;
      }
      if (field < 0 || fieldsInLine === 0) {
        field = fieldsInLine++;
        rank = 0;
        bits = 0;
        bitCount = 0;
      }
      if (field === 0) continue;
      if (field === 1) {
        if (c < 0x30 || c > 0x39) throw new Error(`bpe ranks: not a rank at ${i}`);
        rank = rank * 10 + (c - 0x30);
        continue;
      }
      if (c === 0x3d) continue; // base64 padding
      const value = c < 128 ? BASE64_VALUES[c]! : -1;
      if (value < 0) throw new Error(`bpe ranks: not base64 at ${i}`);
      bits = (bits << 6) | value;
      bitCount += 6;
      if (bitCount >= 8) {
        bitCount -= 8;
        bytes[length++] = (bits >>> bitCount) & 0xff;
        bits &= (1 << bitCount) - 1;
      }
    }
    if (field >= 0) endField();
    const sharedBytes = new Uint8Array(new SharedArrayBuffer(length));
    sharedBytes.set(bytes.subarray(0, length));
    const sharedStarts = new Int32Array(new SharedArrayBuffer(starts.length * 4));
    sharedStarts.set(starts);
    return new BpeRankTable(sharedBytes, sharedStarts);
  }

  /** A table over the arrays of another table's `parts` (in a worker: the same memory, nothing built). */
  static fromParts(parts: BpeRankTableParts): BpeRankTable {
    return new BpeRankTable(parts.bytes, parts.starts, parts.slots);
  }

  /** The table's arrays, to be posted to a worker. */
  get parts(): BpeRankTableParts {
    return { bytes: this.#bytes, starts: this.#starts, slots: this.#slots };
  }

  /** Tokens in the table (the highest rank + 1). */
  get size(): number {
    return this.#starts.length - 1;
  }

  /** Bytes held by the table's arrays (for tests and stats). */
  get byteLength(): number {
    return this.#bytes.byteLength + this.#starts.byteLength + this.#slots.byteLength;
  }

  /** The rank of the token whose bytes are `bytes[start..end)`, or -1 when no token has them. */
  rank(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const tokens = this.#bytes;
    const starts = this.#starts;
    let slot = hash(bytes, start, end) & this.#mask;
    for (;;) {
      const entry = this.#slots[slot]!;
      if (entry === 0) return -1;
      const tokenStart = starts[entry - 1]!;
      if (starts[entry]! - tokenStart === length) {
        let i = 0;
        while (i < length && tokens[tokenStart + i] === bytes[start + i]) i++;
        if (i === length) return entry - 1;
      }
      slot = (slot + 1) & this.#mask;
    }
  }
}

/** FNV-1a over the range, with a final avalanche so that the low bits used as the slot are well mixed. */
function hash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
