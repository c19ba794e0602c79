/**
 * `StopSequenceMatcher`: finds the request's `stop_sequences` in streamed answer text, for
 * `AmazonQToClaude` (Amazon Q ignores them, so they are enforced on its output). A sequence may be split
 * across fragments, so the tail of a fragment that could begin one is held back until the next fragment
 * (or the end) decides.
 */
export class StopSequenceMatcher {
  readonly #stops: readonly string[];
  /** Text held back because it may be the start of a stop sequence. */
  #hold = "";

  constructor(stopSequences: readonly string[]) {
    this.#stops = stopSequences.filter((s) => s.length > 0);
  }

  /** False when the request has no stop sequences (text then passes straight through). */
  get active(): boolean {
    return this.#stops.length > 0;
  }

  /**
   * Takes the next fragment: `text` is what may be emitted now; `matched` is the stop sequence found (the
   * answer ends after `text`), or null when none was (a possible start of one is held back).
   */
  push(fragment: string): { text: string; matched: string | null } {
    const buf = this.#hold.length > 0 ? this.#hold + fragment : fragment;
    this.#hold = "";
    let at = -1;
    let matched = "";
    for (const stop of this.#stops) {
      const i = buf.indexOf(stop);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        matched = stop;
      }
    }
    if (at >= 0) return { text: buf.slice(0, at), matched };
    let hold = 0;
    for (const stop of this.#stops) {
      const max = Math.min(buf.length, stop.length - 1);
      for (let n = max; n > hold; n--) {
        if (stop.startsWith(buf.slice(buf.length - n))) {
          hold = n;
          break;
        }
      }
    }
    this.#hold = buf.slice(buf.length - hold);
    return { text: buf.slice(0, buf.length - hold), matched: null };
  }

  /** The text held back so far (emitted when the answer goes on with something else, or ends). */
  takeHeld(): string {
    const held = this.#hold;
    this.#hold = "";
    return held;
  }
}
