import assert from "node:assert/strict";
import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import { Cl100kCounter } from "../../../lib/usage/cl100k_counter.ts";
import { cl100kRankTable } from "../../../lib/usage/cl100k_rank_table.ts";

/** Deterministic pseudo-random text (no timing, no flakiness). */
function randomText(length: number, alphabet: string, seed = 7): string {
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(alphabet[(x >>> 16) % alphabet.length]!);
  }
  return out.join("");
}

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const BASE64 = LETTERS + "0123456789+/";

Deno.test("Cl100kCounter counts ordinary text exactly as js-tiktoken does", () => {
  const counter = new Cl100kCounter(cl100kRankTable());
  const reference = new Tiktoken(cl100k);
  const samples = [
    "hello world",
    "It's what I'LL do, they've said: 12345 apples & 3.14159 pears!",
    "héllo wörld — 日本語のテキスト 🎉 Ünïcödé\n\n\tindented\r\n  two spaces",
    "The quick brown fox jumps over the lazy dog. ".repeat(40),
    'export function f(a: number): string {\n  return `${a}`.padStart(8, "0"); // pad\n}\n'.repeat(20),
  ];
  for (const text of samples) {
    assert.equal(counter.count(text), reference.encode(text, "all").length, text.slice(0, 40));
  }
  assert.equal(counter.count(""), 0);
});

Deno.test("Cl100kCounter finishes the inputs that overflowed the stack or took minutes", () => {
  const counter = new Cl100kCounter(cl100kRankTable());
  // A run of 6 M letters was a RangeError (stack overflow in the pre-tokenizer regex) and a 500.
  const run = counter.count("a".repeat(6_000_000));
  assert.ok(run > 100_000, String(run));
  // Random letters: every 16-letter piece is a fresh byte-pair merge.
  const letters = counter.count(randomText(300_000, LETTERS));
  assert.ok(letters > 50_000, String(letters));
  const spaces = counter.count(" \t".repeat(200_000) + "x");
  assert.ok(spaces > 1_000, String(spaces));
  const punctuation = counter.count("!@#$%^&*()".repeat(100_000));
  assert.ok(punctuation > 10_000, String(punctuation));
});

Deno.test("Cl100kCounter estimates base64 blobs from the text alone, the same on every call", () => {
  const counter = new Cl100kCounter(cl100kRankTable());
  const blob = randomText(8_000_000, BASE64);
  const n = counter.count(blob);
  assert.equal(n, Math.ceil(8_000_000 / 1.4));
  assert.equal(counter.count(blob), n);
  // Close to the real count on a sample small enough to tokenize exactly.
  const sample = randomText(20_000, BASE64, 11);
  const exact = new Tiktoken(cl100k).encode(sample).length;
  const estimate = counter.count(sample);
  assert.ok(Math.abs(estimate - exact) / exact < 0.2, `${estimate} vs ${exact}`);
  // One repeated letter is not a blob: counted exactly (two tokens per 16-letter piece).
  assert.equal(counter.count("a".repeat(1600)), 200);
  // Base64url and line breaks are still a blob; a space, another character or a missing class
  // (no digits, no upper case) is not: it is counted, not estimated from its length.
  const url = randomText(4_000, LETTERS + "0123456789-_", 5) + "\r\n" + randomText(4_000, BASE64 + "=", 6);
  assert.equal(counter.count(url), Math.ceil(url.length / 1.4));
  for (
    const text of [
      randomText(3_000, BASE64, 3) + " " + randomText(3_000, BASE64, 4),
      randomText(3_000, BASE64, 3) + "." + randomText(3_000, BASE64, 4),
      randomText(3_000, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ+/"),
      randomText(3_000, "abcdefghijklmnopqrstuvwxyz0123456789+/"),
    ]
  ) assert.notEqual(counter.count(text), Math.ceil(text.length / 1.4));
});

/**
 * Varied text whose pieces all stay within the counter's 16-character bound (so the count must equal
 * `js-tiktoken`'s): words of every script, code, numbers, emoji (with joiners and modifiers), lone
 * surrogates, whitespace runs of every kind, punctuation clusters.
 */
function variedCorpus(words: number, seed: number): string {
  const vocabulary = [
    "the",
    "Quick",
    "brown",
    "fox's",
    "they'RE",
    "we've",
    "I'll",
    "naïve",
    "café",
    "Ünïcödé",
    "straße",
    "日本語",
    "テキスト",
    "中文字符",
    "한국어",
    "Привет",
    "мир",
    "ελληνικά",
    "עברית",
    "العربية",
    "हिन्दी",
    "ไทย",
    "🎉",
    "👩‍👩‍👧",
    "👍🏽",
    "🇫🇷",
    "❤️",
    "\ud800",
    "\udfff",
    "x\ud83d",
    "12",
    "3.14159",
    "1,000,000",
    "0x7fffffff",
    "2026-12-03T18:16:45Z",
    "const",
    "=>",
    "===",
    "!==",
    "&&",
    "||",
    "??",
    "::",
    "{}",
    "();",
    "[0]",
    "`${a}`",
    '"key":',
    "<div>",
    "</div>",
    "/**",
    "*/",
    "#!",
    "@param",
    "$var",
    "%d",
    "\\n",
    "—",
    "…",
    "«»",
    "™",
    "½",
    "ﬁ",
    "\u00a0",
    "\u200b",
  ];
  const separators = [" ", " ", " ", "", "\n", "\r\n", "\t", "  ", "    ", "\n\n", " \n", "\t\t\n", "\u3000"];
  const out: string[] = [];
  let x = seed;
  const next = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x >>> 8) % n;
  };
  for (let i = 0; i < words; i++) {
    out.push(vocabulary[next(vocabulary.length)]!);
    // A whitespace run of up to 16 characters now and then (indentation), otherwise one separator.
    out.push(next(20) === 0 ? " ".repeat(1 + next(15)) : separators[next(separators.length)]!);
  }
  return withinBound(out.join(""));
}

/** Breaks runs of letters, punctuation or whitespace longer than the counter's 16-character bound. */
function withinBound(text: string): string {
  return text
    .replace(/(\p{L}{16})(?=\p{L})/gu, "$1 ")
    .replace(/([^\s\p{L}\p{N}]{16})(?=[^\s\p{L}\p{N}])/gu, "$1 ")
    .replace(/\s{17,}/gu, " ");
}

Deno.test("Cl100kCounter's compact rank table counts a varied corpus exactly as js-tiktoken does", () => {
  const counter = new Cl100kCounter(cl100kRankTable());
  const reference = new Tiktoken(cl100k);
  const texts = [
    variedCorpus(20_000, 3),
    variedCorpus(3_000, 5),
    // Random bytes of every UTF-8 length: merges of sequences that no ordinary text has.
    withinBound(randomText(5_000, "aé日🎉 \n.,;:!?-_0123456789Zж", 13)),
    // This repository's own code and prose.
    withinBound(Deno.readTextFileSync(new URL("../../../lib/usage/token_estimator.ts", import.meta.url))),
    withinBound(Deno.readTextFileSync(new URL("../../../README.md", import.meta.url))),
  ];
  for (const text of texts) {
    assert.equal(counter.count(text), reference.encode(text, "all").length, text.slice(0, 40));
  }
  // Piece by piece too, so that a difference in one piece cannot hide behind one elsewhere.
  const pieces = variedCorpus(4_000, 17).split(/(?<=\s)/);
  for (const piece of pieces) {
    assert.equal(counter.count(piece), reference.encode(piece, "all").length, JSON.stringify(piece));
  }
});
