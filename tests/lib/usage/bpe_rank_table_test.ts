import assert from "node:assert/strict";
import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import { BpeRankTable } from "../../../lib/usage/bpe_rank_table.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

Deno.test("BpeRankTable reads the rank format's lines, explicit first ranks and skipped ranks", () => {
  // "a" 0, "b" 1, ranks 2..4 skipped, "ab" 5, "bab" 6; the first field of a line is a name.
  const table = BpeRankTable.fromTiktokenRanks("x 0 YQ== Yg==\ny 5 YWI= YmFi\n");
  assert.equal(table.size, 7);
  const bytes = utf8("zbabz");
  assert.equal(table.rank(bytes, 1, 2), 1);
  assert.equal(table.rank(bytes, 2, 4), 5);
  assert.equal(table.rank(bytes, 1, 4), 6);
  assert.equal(table.rank(bytes, 0, 1), -1);
  assert.equal(table.rank(bytes, 1, 3), -1);
  assert.throws(() => BpeRankTable.fromTiktokenRanks("x 3 YQ==\ny 1 Yg=="), /out of order/);
});

Deno.test("BpeRankTable gives cl100k_base's ranks in a few MiB", () => {
  const table = BpeRankTable.fromTiktokenRanks(cl100k.bpe_ranks);
  const reference = new Tiktoken(cl100k);
  assert.equal(table.size, 100_256);
  assert.ok(table.byteLength < 4 * 1024 * 1024, String(table.byteLength));
  for (const word of ["hello", " world", "日本", " the", "\n\n", "    ", "🎉", "!", "\t"]) {
    const tokens = reference.encode(word);
    const bytes = utf8(word);
    const expected = tokens.length === 1 ? tokens[0] : -1;
    assert.equal(table.rank(bytes, 0, bytes.length), expected, JSON.stringify(word));
  }
  // Every single byte is a token of its own.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0; i < 256; i++) assert.ok(table.rank(all, i, i + 1) >= 0, String(i));
});

Deno.test("BpeRankTable's parts are shared memory: a table made from them reads the same arrays", () => {
  const table = BpeRankTable.fromTiktokenRanks(cl100k.bpe_ranks);
  const { bytes, starts, slots } = table.parts;
  // Shared buffers are what lets the worker count without a copy of its own.
  for (const array of [bytes, starts, slots]) assert.ok(array.buffer instanceof SharedArrayBuffer);
  const copy = BpeRankTable.fromParts(table.parts);
  assert.equal(copy.parts.bytes, bytes);
  const word = utf8(" tokenizer");
  for (let end = 2; end <= word.length; end++) {
    assert.equal(copy.rank(word, 0, end), table.rank(word, 0, end), String(end));
  }
});
