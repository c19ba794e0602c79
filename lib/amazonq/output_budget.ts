/**
 * `OutputBudget`: the running estimate of output tokens against the request's `max_tokens`, for
 * `AmazonQToClaude`. Amazon Q has no output limit of its own, so the stream is cut here once the
 * estimate reaches it. The estimate needs no tokenizer (about 4 ASCII characters per token, one token per
 * other character), so it is cheap enough to run on every text fragment; the exact count comes at the end.
 */

/** Running output estimate without a tokenizer: ~4 ASCII characters per token, 1 token per other character. */
function approxTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) ascii++;
    else if (c < 0xdc00 || c > 0xdfff) other++; // a surrogate pair counts once
  }
  return ascii / 4 + other;
}

/** How many leading characters of `text` fit in `budget` estimated tokens (never splitting a surrogate pair). */
function fitChars(text: string, budget: number): number {
  let used = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const cost = c < 128 ? 0.25 : (c >= 0xdc00 && c <= 0xdfff ? 0 : 1);
    if (used + cost > budget) break;
    used += cost;
  }
  if (i > 0 && i < text.length) {
    const prev = text.charCodeAt(i - 1);
    if (prev >= 0xd800 && prev <= 0xdbff) i--;
  }
  return i;
}

export class OutputBudget {
  readonly #maxTokens: number;
  #estimate = 0;

  constructor(maxTokens: number) {
    this.#maxTokens = maxTokens;
  }

  /** The part of `text` that fits the remaining `max_tokens` estimate (all of it, or a cut prefix). */
  fit(text: string): string {
    const cost = approxTokens(text);
    const remaining = this.#maxTokens - this.#estimate;
    if (cost <= remaining) {
      this.#estimate += cost;
      return text;
    }
    const cut = fitChars(text, Math.max(0, remaining));
    this.#estimate = this.#maxTokens;
    return text.slice(0, cut);
  }

  /** Counts output that is never cut (a tool call's input) against the budget. */
  charge(text: string): void {
    this.#estimate += approxTokens(text);
  }
}
