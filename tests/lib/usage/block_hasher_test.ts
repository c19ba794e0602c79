import assert from "node:assert/strict";
import { BlockHasher, type Digest128 } from "../../../lib/usage/block_hasher.ts";
import { PrefixChain } from "../../../lib/usage/prefix_chain.ts";

const hex = (d: Digest128) => d.map((lane) => lane.toString(16).padStart(8, "0")).join("");

Deno.test("BlockHasher is MurmurHash3 x86_128 over UTF-8 (reference vectors)", () => {
  const h = new BlockHasher();
  assert.equal(hex(h.digest("")), "00000000000000000000000000000000");
  assert.equal(
    hex(h.digest("The quick brown fox jumps over the lazy dog")),
    "2f1583c3ecee2c675d7bf66ce5e91d2c",
  );
  // Longer than the initial buffer, and non-ASCII: the buffer grows and the bytes are UTF-8.
  const long = "é".repeat(100_000);
  assert.equal(hex(h.digest(long)), hex(new BlockHasher().digest(long)));
  assert.notEqual(hex(h.digest("é")), hex(h.digest("e")));
});

Deno.test("PrefixChain gives each boundary its own key and depends on order and block structure", () => {
  const h = new BlockHasher();
  const [a, b, tag] = [h.digest("a"), h.digest("b"), h.digest("tag")];
  const walk = (blocks: Digest128[][]) => {
    const chain = new PrefixChain(h.digest("scope"), 1);
    for (const block of blocks) {
      chain.absorb(tag);
      for (const piece of block) chain.absorb(piece);
      chain.mark();
    }
    return Array.from({ length: chain.length }, (_, i) => chain.key(i));
  };
  const keys = walk([[a], [b], [a, b]]);
  assert.equal(keys.length, 3);
  assert.equal(new Set(keys).size, 3);
  for (const key of keys) assert.match(key, /^[0-9a-f]{32}$/);
  assert.deepEqual(walk([[a], [b]]), keys.slice(0, 2));
  assert.notEqual(walk([[b], [a]])[1], keys[1]);
  assert.notEqual(walk([[a, b]])[0], walk([[a], [b]])[1]);
});

Deno.test("PieceMemo remembers pieces within its character bound and agrees with a fresh count", async () => {
  const { PieceMemo } = await import("../../../lib/usage/piece_memo.ts");
  let counted = 0;
  const count = (text: string) => {
    counted++;
    return text.length;
  };
  const memo = new PieceMemo(count, new BlockHasher(), { maxChars: 4_000 });
  const first = memo.get("x".repeat(100));
  assert.deepEqual(memo.get("x".repeat(100)), first);
  assert.equal(counted, 1);
  for (let i = 0; i < 200; i++) memo.get(`piece ${i} `.repeat(10));
  assert.ok(memo.size.chars <= 4_000 + 200, JSON.stringify(memo.size)); // two generations of at most half each
  memo.get("y".repeat(3_000)); // larger than an eighth of the bound: counted, not remembered
  const before = counted;
  memo.get("y".repeat(3_000));
  assert.equal(counted, before + 1);
  const off = new PieceMemo(count, new BlockHasher(), { maxChars: 0 });
  off.get("abc");
  off.get("abc");
  assert.equal(off.size.entries, 0);
});
