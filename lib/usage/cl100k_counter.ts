/**
 * Counts `cl100k_base` tokens in time linear in the text, with a compact rank table.
 *
 * `js-tiktoken` ships the ranks but its encoder is unsafe on hostile input: its byte-pair merge is quadratic
 * in the length of one pre-token, its pre-tokenizer regex overflows V8's backtracking stack on a run of a few
 * million letters (a 500), and its tables take ~120 MB. Here the same pre-tokenizer has every repetition
 * bounded (`{1,16}` instead of `+`), so a long run of letters, punctuation or spaces becomes pieces of at most
 * 16 characters: each regex step and each merge is bounded, the whole count linear. Ordinary text, whose
 * pieces are shorter than that, counts exactly as with `js-tiktoken`. Ranks are kept as one map from the
 * token's bytes (a binary string) to its rank, a fraction of `js-tiktoken`'s memory.
 *
 * Two inputs are estimated instead of tokenized, decided from the text alone so that every caller (event
 * loop or worker, `count_tokens` or `/v1/messages`) gets the same number: long base64-like blobs (a fixed
 * characters-per-token rate measured on random base64) and texts beyond `EXACT_LIMIT` characters (the exact
 * count of the first `EXACT_LIMIT` characters, scaled to the whole length).
 */
import cl100k from "js-tiktoken/ranks/cl100k_base";

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
  #ranks = new Map<string, number>();
  #pieces = new Map<string, number>();
  #encoder = new TextEncoder();

  constructor() {
    // Each line is "<ignored> <first rank> <base64 token> <base64 token> ...", ranks consecutive.
    for (const line of cl100k.bpe_ranks.split("\n")) {
      if (!line) continue;
      const fields = line.split(" ");
      const offset = Number.parseInt(fields[1]!, 10);
      for (let i = 2; i < fields.length; i++) this.#ranks.set(atob(fields[i]!), offset + i - 2);
    }
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
    const tokens = this.#merge(this.#bytes(piece));
    if (this.#pieces.size >= PIECE_CACHE_LIMIT) this.#pieces.clear();
    this.#pieces.set(piece, tokens);
    return tokens;
  }

  /** The UTF-8 bytes of a piece as a binary string (lone surrogates become U+FFFD, as in `js-tiktoken`). */
  #bytes(piece: string): string {
    let ascii = true;
    for (let i = 0; i < piece.length; i++) {
      if (piece.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return piece;
    return String.fromCharCode(...this.#encoder.encode(piece));
  }

  /** Byte-pair merge: repeatedly join the adjacent pair with the lowest rank; the parts left are tokens. */
  #merge(bytes: string): number {
    if (this.#ranks.has(bytes)) return 1;
    const starts: number[] = [];
    for (let i = 0; i <= bytes.length; i++) starts.push(i);
    while (starts.length > 2) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 2 < starts.length; i++) {
        const rank = this.#ranks.get(bytes.slice(starts[i]!, starts[i + 2]!));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      starts.splice(best + 1, 1);
    }
    return starts.length - 1;
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
