/**
 * Default model prices, in USD per million tokens, for the price table an admin can edit at run time.
 *
 * Taken on 2026-12-03 from the providers' own pricing pages: Anthropic's model pricing table
 * (platform.claude.com, "Pricing") and Google's Gemini Developer API pricing (ai.google.dev/gemini-api/docs/
 * pricing), standard tier, no batch discount. Anthropic bills a 5-minute cache write at 1.25 times the input
 * price, a 1-hour write at 2 times and a cache read at a tenth (less on a few newer models). Google charges no
 * write premium for implicit caching, so Gemini writes are priced as plain input and reads at the published
 * cached-input price; its hourly storage fee and the higher rate for prompts over 200k tokens are not modelled
 * (nor Sonnet 4.5's long-context rate). Claude Haiku 5.5 is left out on purpose: its price depends on the
 * prompt length (a 100k-token threshold), which one rate per kind cannot express, so it shows as unpriced
 * rather than wrong. Sonnet 5.5's cache read is the reduced rate in force since 2026-10-07.
 *
 * Keys are exact model names or family patterns with `*` (see `PriceTable` for matching).
 */
import type { PriceTableData } from "./price_table.ts";

const opus45 = { input: 5, output: 25, cache_write_5m: 6.25, cache_write_1h: 10, cache_read: 0.5 };
const opus4 = { input: 15, output: 75, cache_write_5m: 18.75, cache_write_1h: 30, cache_read: 1.5 };
const sonnet4 = { input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.3 };
const sonnet5 = { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.2 };

/** Gemini: no write premium; reads at the cached-input price. */
function gemini(input: number, output: number, cacheRead: number) {
  return { input, output, cache_write_5m: input, cache_write_1h: input, cache_read: cacheRead };
}

export const DEFAULT_PRICES: PriceTableData = {
  source: "Anthropic and Google published API prices, taken 2026-12-03",
  models: {
    // Claude 5
    "claude-opus-5": opus45,
    "claude-opus-5-20*": opus45,
    "claude-opus-5-5*": { input: 4, output: 20, cache_write_5m: 5, cache_write_1h: 8, cache_read: 0.2 },
    "claude-sonnet-5": sonnet5,
    "claude-sonnet-5-20*": sonnet5,
    "claude-sonnet-5-5*": { ...sonnet5, cache_read: 0.1 },
    // Claude Opus 4.x: 4.5 and later at the lower rate, 4 and 4.1 at the original one.
    "claude-opus-4-5*": opus45,
    "claude-opus-4-6*": opus45,
    "claude-opus-4-7*": opus45,
    "claude-opus-4-8*": opus45,
    "claude-opus-4-1*": opus4,
    "claude-opus-4": opus4,
    "claude-opus-4-0*": opus4,
    "claude-opus-4-20*": opus4,
    // Claude Sonnet 4.x and 3.7
    "claude-sonnet-4": sonnet4,
    "claude-sonnet-4-0*": sonnet4,
    "claude-sonnet-4-20*": sonnet4,
    "claude-sonnet-4-5*": sonnet4,
    "claude-sonnet-4-6*": sonnet4,
    "claude-3-7-sonnet*": sonnet4,
    // Claude Haiku
    "claude-haiku-4-5*": { input: 1, output: 5, cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.1 },
    "claude-3-5-haiku*": { input: 0.8, output: 4, cache_write_5m: 1, cache_write_1h: 1.6, cache_read: 0.08 },
    // Gemini (prompts up to 200k tokens)
    "gemini-2.5-pro*": gemini(1.25, 10, 0.125),
    "gemini-2.5-flash*": gemini(0.3, 2.5, 0.03),
    "gemini-2.5-flash-lite*": gemini(0.1, 0.4, 0.01),
    "gemini-3-pro*": gemini(2, 12, 0.2),
    "gemini-3.1-pro*": gemini(2, 12, 0.2),
    "gemini-3-flash*": gemini(0.5, 3, 0.05),
  },
};
