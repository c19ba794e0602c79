/**
 * `minimumCacheableTokens`: the shortest prefix Anthropic caches for a model.
 *
 * Below it a breakpoint is accepted but nothing is written or read, and the request is billed as plain input.
 * Values as Anthropic's prompt-caching guide listed them on 2026-12-03: 4,096 tokens for Claude Opus 4.5, 4.6
 * and 4.7 and Haiku 4.5; 2,048 for Haiku 3.5 and 3; 1,024 for Opus 4.8, Opus 4 and 4.1, the Sonnet 4.x and 3.x
 * models. Models not listed (including non-Claude names) use 1,024, the most common value.
 */

const RULES: ReadonlyArray<readonly [RegExp, number]> = [
  [/^claude-(opus-4-[567]|haiku-4-5)(?!\d)/, 4096],
  [/^claude-(3-5-haiku|3-haiku|haiku-3)/, 2048],
];

export const DEFAULT_MINIMUM_CACHEABLE_TOKENS = 1024;

export function minimumCacheableTokens(model: string): number {
  const name = model.toLowerCase();
  for (const [pattern, tokens] of RULES) if (pattern.test(name)) return tokens;
  return DEFAULT_MINIMUM_CACHEABLE_TOKENS;
}
