/**
 * `ThinkingTagParser`: splits streamed assistant text into answer text and `<thinking>...</thinking>` reasoning.
 *
 * Amazon Q has no native thinking switch for Claude models; the proxy injects a thinking hint and the model
 * writes its reasoning between plain `<thinking>` tags in the answer text. This parser finds those
 * tags incrementally, whatever the chunking: a tag split at any offset is recognised, and a held-back partial
 * tag (even a lone `<`) is released as ordinary text as soon as it stops matching or the text ends, so no
 * answer text is ever swallowed into a thinking block.
 *
 * Where tags count is a choice (`mode`):
 * - `"leading"` (what the stage uses): a `<thinking>` opener is honoured only at the start of a segment (the
 *   start of the output, after a closed thinking block, after `end()`), after optional whitespace. Text that
 *   merely talks about the tag later in an answer stays text.
 * - `"anywhere"`: every `<thinking>` opens a thinking section, wherever it appears.
 * It does not build Claude blocks or sign anything; it calls a sink.
 */

const OPEN = "<thinking>";
const CLOSE = "</thinking>";

export interface ThinkingTagSink {
  text(text: string): void;
  thinking(text: string): void;
  /** A `</thinking>` closed the current thinking section (or the input ended inside one). */
  thinkingEnd(): void;
}

export interface ThinkingTagParserOptions {
  mode?: "leading" | "anywhere";
}

/** Length of the longest suffix of `s` that is a proper prefix of `tag`. */
function partialSuffix(s: string, tag: string): number {
  const max = Math.min(s.length, tag.length - 1);
  for (let n = max; n > 0; n--) {
    if (tag.startsWith(s.slice(s.length - n))) return n;
  }
  return 0;
}

const LEADING_WS = /^\s*/;

export class ThinkingTagParser {
  readonly #sink: ThinkingTagSink;
  readonly #anywhere: boolean;
  #inside = false;
  /** No answer text emitted since the segment began: a leading opener may still come. */
  #atStart = true;
  /** Just after `</thinking>`: the blank lines that separate reasoning from the answer are dropped. */
  #afterThinking = false;
  /** Held-back text: a possible partial tag or (at a segment start) leading whitespace. Always short. */
  #carry = "";

  constructor(sink: ThinkingTagSink, options: ThinkingTagParserOptions = {}) {
    this.#sink = sink;
    this.#anywhere = options.mode === "anywhere";
  }

  /** True while inside a thinking section. */
  get inThinking(): boolean {
    return this.#inside;
  }

  push(chunk: string): void {
    // Only the short carry is prepended, never the whole output so far.
    let buf = this.#carry.length > 0 ? this.#carry + chunk : chunk;
    this.#carry = "";
    while (buf.length > 0) {
      if (this.#inside) {
        const at = buf.indexOf(CLOSE);
        if (at >= 0) {
          this.#sink.thinking(buf.slice(0, at));
          this.#sink.thinkingEnd();
          this.#inside = false;
          this.#atStart = true;
          this.#afterThinking = true;
          buf = buf.slice(at + CLOSE.length);
          continue;
        }
        const hold = partialSuffix(buf, CLOSE);
        this.#sink.thinking(buf.slice(0, buf.length - hold));
        this.#carry = buf.slice(buf.length - hold);
        return;
      }
      if (this.#anywhere) {
        const at = buf.indexOf(OPEN);
        if (at >= 0) {
          this.#emitText(buf.slice(0, at));
          this.#inside = true;
          buf = buf.slice(at + OPEN.length);
          continue;
        }
        const hold = partialSuffix(buf, OPEN);
        this.#emitText(buf.slice(0, buf.length - hold));
        this.#carry = buf.slice(buf.length - hold);
        return;
      }
      if (!this.#atStart) {
        this.#emitText(buf);
        return;
      }
      const ws = LEADING_WS.exec(buf)![0].length;
      const rest = buf.slice(ws);
      if (rest.startsWith(OPEN)) {
        this.#inside = true;
        buf = rest.slice(OPEN.length);
        continue;
      }
      if (rest.length === 0 || OPEN.startsWith(rest)) {
        this.#carry = buf;
        return;
      }
      this.#atStart = false;
      this.#emitText(buf);
      return;
    }
  }

  /** Flushes held-back text and closes an unterminated thinking section; the next text starts a segment. */
  end(): void {
    const carry = this.#carry;
    this.#carry = "";
    if (this.#inside) {
      this.#sink.thinking(carry);
      this.#sink.thinkingEnd();
      this.#inside = false;
    } else {
      this.#emitText(carry);
    }
    this.#atStart = true;
    this.#afterThinking = false;
  }

  #emitText(text: string): void {
    if (this.#afterThinking) {
      const trimmed = text.replace(/^[\r\n]+/, "");
      if (trimmed.length === 0) return;
      this.#afterThinking = false;
      this.#sink.text(trimmed);
      return;
    }
    if (text.length > 0) this.#sink.text(text);
  }
}
