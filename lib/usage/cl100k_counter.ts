/**
 * Counts `cl100k_base` tokens in time linear in the text, with a compact rank table.
 *
 * `js-tiktoken` ships the ranks but its encoder is unsafe on hostile input: its byte-pair merge is quadratic
 * in the length of one pre-token, its pre-tokenizer regex overflows V8's backtracking stack on a run of a few
 * million letters (a 500), and its tables take ~120 MB. Here the same pre-tokenizer has every repetition
 * bounded (`{1,16}` instead of `+`), so a long run of letters, punctuation or spaces becomes pieces of at most
 * 16 characters: each regex step and each merge is bounded, the whole count linear. Ordinary text, whose
 * pieces are shorter than that, counts exactly as with `js-tiktoken`. Ranks are kept in a `BpeRankTable`
 * (flat typed arrays, ~2 MiB, built once by `cl100kRankTable` and shared with the token count worker), and a
 * piece is merged in place in its UTF-8 bytes, without building strings.
 *
 * Two inputs are estimated instead of tokenized, decided from the text alone so that every caller (event
 * loop or worker, `count_tokens` or `/v1/messages`) gets the same number: long base64-like blobs (a fixed
 * characters-per-token rate measured on random base64) and texts beyond `EXACT_LIMIT` characters (the exact
 * count of the first `EXACT_LIMIT` characters, scaled to the whole length).
 */
import type { BpeRankTable } from "./bpe_rank_table.ts";

/** `cl100k_base`'s pre-tokenizer with every unbounded repetition capped at 16 characters. */
const PIECE = new RegExp(
  [
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])",
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}{1,16}",
    "\\p{N}{1,3}",
    " ?[^\\s\\p{L}\\p{N}]{1,16}[\\r\\n]{0,16}",
    "\\s{0,16}[\\r\\n]{1,16}",
    "\\s{1,16}(?!\\S)",
    "\\s{1,16}",
  ].join("|"),
  "gu",
);

/** Texts at least this long that are only base64 characters are estimated at `BASE64_CHARS_PER_TOKEN`. */
const BASE64_MIN_LENGTH = 1024;
/** Measured: random base64 averages about 1.4 characters per `cl100k_base` token. */
const BASE64_CHARS_PER_TOKEN = 1.4;
/** Longer texts are counted on their first `EXACT_LIMIT` characters and scaled. */
export const EXACT_LIMIT = 4 * 1024 * 1024;
/** Distinct pieces remembered (common words of a conversation repeat); cleared when full. */
const PIECE_CACHE_LIMIT = 65_536;

export class Cl100kCounter {
  #ranks: BpeRankTable;
  #pieces = new Map<string, number>();
  #encoder = new TextEncoder();
  /** The current piece's UTF-8 bytes (reused; grown for a longer piece). */
  #bytes = new Uint8Array(256);
  /** Merge state, reused: part boundaries and the rank of each pair of adjacent parts. */
  #starts = new Int32Array(257);
  #pairRanks = new Int32Array(256);

  /** `ranks`: `cl100kRankTable()`, or its `parts` as a worker received them; shared, never written. */
  constructor(ranks: BpeRankTable) {
    this.#ranks = ranks;
  }

  /** Tokens in a text (an estimate for long base64-like or very long texts, see above). */
  count(text: string): number {
    if (text.length === 0) return 0;
    if (text.length >= BASE64_MIN_LENGTH && isBase64Like(text)) {
      return Math.ceil(text.length / BASE64_CHARS_PER_TOKEN);
    }
    if (text.length > EXACT_LIMIT) {
      const head = this.#exact(text.slice(0, EXACT_LIMIT));
      return Math.round(head * (text.length / EXACT_LIMIT));
    }
    return this.#exact(text);
  }

  #exact(text: string): number {
    let total = 0;
    PIECE.lastIndex = 0;
    for (const match of text.matchAll(PIECE)) total += this.#piece(match[0]);
    return total;
  }

  #piece(piece: string): number {
    const known = this.#pieces.get(piece);
    if (known !== undefined) return known;
    const tokens = this.#merge(this.#encode(piece));
    if (this.#pieces.size >= PIECE_CACHE_LIMIT) this.#pieces.clear();
    this.#pieces.set(piece, tokens);
    return tokens;
  }

  /**
   * Writes a piece's UTF-8 bytes into `#bytes` and returns their length (lone surrogates become U+FFFD, as
   * in `js-tiktoken`).
   */
  #encode(piece: string): number {
    // At most three bytes per UTF-16 unit.
    if (this.#bytes.length < piece.length * 3) this.#grow(piece.length * 3);
    const bytes = this.#bytes;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (c > 0x7f) return this.#encoder.encodeInto(piece, bytes).written;
      bytes[i] = c;
    }
    return piece.length;
  }

  #grow(length: number): void {
    this.#bytes = new Uint8Array(length);
    this.#starts = new Int32Array(length + 1);
    this.#pairRanks = new Int32Array(length);
  }

  /**
   * Byte-pair merge of `#bytes[0..length)`: repeatedly join the adjacent pair with the lowest rank (the
   * leftmost on a tie); the parts left are the tokens. Only the two pairs touching a merge are looked up
   * again, so a piece of n bytes takes O(n) lookups.
   */
  #merge(length: number): number {
    const ranks = this.#ranks;
    const bytes = this.#bytes;
    if (ranks.rank(bytes, 0, length) >= 0) return 1;
    const starts = this.#starts;
    const pairRanks = this.#pairRanks;
    const NONE = 0x7fffffff;
    for (let i = 0; i <= length; i++) starts[i] = i;
    for (let i = 0; i + 1 < length; i++) {
      const rank = ranks.rank(bytes, i, i + 2);
      pairRanks[i] = rank < 0 ? NONE : rank;
    }
    // `parts` parts, bounded by `starts[0..parts]`; `pairRanks[i]` joins parts i and i + 1.
    let parts = length;
    while (parts > 1) {
      let best = -1;
      let bestRank = NONE;
      for (let i = 0; i + 1 < parts; i++) {
        if (pairRanks[i]! < bestRank) {
          bestRank = pairRanks[i]!;
          best = i;
        }
      }
      if (best < 0) break;
      // Part best + 1 joins part best: drop its start and its pair.
      starts.copyWithin(best + 1, best + 2, parts + 1);
      pairRanks.copyWithin(best, best + 1, parts - 1);
      parts--;
      if (best > 0) pairRanks[best - 1] = this.#pairRank(best - 1);
      if (best + 1 < parts) pairRanks[best] = this.#pairRank(best);
    }
    return parts;
  }

  /** The rank of parts `i` and `i + 1` joined, or `0x7fffffff` when they are not a token. */
  #pairRank(i: number): number {
    const rank = this.#ranks.rank(this.#bytes, this.#starts[i]!, this.#starts[i + 2]!);
    return rank < 0 ? 0x7fffffff : rank;
  }
}

/** A character that is not base64 (or base64url) nor a line break. */
const NOT_BASE64 = /[^A-Za-z0-9+/=_\-\n\r]/;

/**
 * Only base64 (or base64url) characters and line breaks, no spaces, with upper case, lower case and digits
 * all present: an encoded blob, not prose (a run of one letter is counted exactly). Regular expressions
 * rather than a loop over `charCodeAt`: they scan a multi-megabyte text about ten times faster, and this runs
 * on the event loop for every long text the cache simulation counts.
 */
function isBase64Like(text: string): boolean {
  return !NOT_BASE64.test(text) && /[A-Z]/.test(text) && /[a-z]/.test(text) && /[0-9]/.test(text);
}
