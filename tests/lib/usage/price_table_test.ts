import assert from "node:assert/strict";
import { ApiError } from "../../../lib/errors.ts";
import { DEFAULT_PRICES } from "../../../lib/usage/default_prices.ts";
import { PriceTable, priceTableSchema } from "../../../lib/usage/price_table.ts";

Deno.test("a cache-heavy Claude Code turn costs what a hand calculation gives", () => {
  const table = new PriceTable();
  // Sonnet 4.5: input $3, output $15, 5 min write $3.75, 1 h write $6, read $0.30 per million tokens.
  const usage = {
    input_tokens: 12,
    output_tokens: 850,
    cache_read_input_tokens: 48_000,
    cache_creation_input_tokens: 3_200,
    cache_creation: { ephemeral_5m_input_tokens: 1_200, ephemeral_1h_input_tokens: 2_000 },
  };
  // 12*3 + 850*15 + 48000*0.30 + 1200*3.75 + 2000*6 = 36 + 12750 + 14400 + 4500 + 12000 = 43686 micro-USD
  assert.deepEqual(table.cost(usage, "claude-sonnet-4-5-20250929"), {
    usd: 0.043686,
    priced: true,
    match: "claude-sonnet-4-5*",
  });
  // The same tokens all billed as input would cost about 3.6 times more: cache tokens are priced apart.
  const flat = table.cost({ input_tokens: 12 + 48_000 + 3_200, output_tokens: 850 }, "claude-sonnet-4-5");
  assert.ok(flat.priced && flat.usd > 0.16);
});

Deno.test("cache writes without a breakdown are 5 minute writes; Opus 4.5 and Opus 4.1 differ", () => {
  const table = new PriceTable();
  const usage = { input_tokens: 1_000, output_tokens: 1_000, cache_creation_input_tokens: 10_000 };
  // Opus 4.5: 1000*5 + 1000*25 + 10000*6.25 = 92500 micro-USD
  assert.equal(table.cost(usage, "claude-opus-4-5-20251101").usd, 0.0925);
  // Opus 4.1: 1000*15 + 1000*75 + 10000*18.75 = 277500
  assert.equal(table.cost(usage, "claude-opus-4-1-20250805").usd, 0.2775);
  assert.equal(table.cost(usage, "claude-opus-4-20250514").usd, 0.2775);
  assert.equal(table.cost(usage, "claude-opus-4").usd, 0.2775);
});

Deno.test("exact names win, then the most specific family pattern", () => {
  const table = new PriceTable();
  assert.equal(table.lookup("gemini-2.5-flash-lite")?.match, "gemini-2.5-flash-lite*");
  assert.equal(table.lookup("gemini-2.5-flash-preview-09-2025")?.match, "gemini-2.5-flash*");
  assert.equal(table.lookup("claude-sonnet-5-5")?.match, "claude-sonnet-5-5*");
  assert.equal(table.lookup("claude-sonnet-5")?.match, "claude-sonnet-5");
  assert.equal(table.lookup("CLAUDE-HAIKU-4-5-20251001")?.match, "claude-haiku-4-5*");
  const custom = new PriceTable({
    models: {
      "my-*": { input: 1, output: 1, cache_write_5m: 1, cache_write_1h: 1, cache_read: 1 },
      "my-model": { input: 2, output: 2, cache_write_5m: 2, cache_write_1h: 2, cache_read: 2 },
    },
  });
  assert.equal(custom.lookup("my-model")?.price.input, 2);
  assert.equal(custom.lookup("my-model-2")?.price.input, 1);
});

Deno.test("an unknown model is unpriced, never a silent 0", () => {
  const table = new PriceTable();
  for (const model of ["gpt-4o", "claude-haiku-5-5", "amazonq-custom", ""]) {
    assert.deepEqual(table.cost({ input_tokens: 1000, output_tokens: 10 }, model), {
      usd: null,
      priced: false,
    });
  }
  // A priced model with no tokens is a real 0.
  assert.deepEqual(table.cost({ input_tokens: 0, output_tokens: 0 }, "gemini-2.5-pro"), {
    usd: 0,
    priced: true,
    match: "gemini-2.5-pro*",
  });
});

Deno.test("the default table passes the admin schema, and bad edits are a 400 naming the field", () => {
  assert.equal(priceTableSchema.safeParse(DEFAULT_PRICES).success, true);
  const round = PriceTable.parse(JSON.parse(JSON.stringify(new PriceTable().data)));
  assert.deepEqual(round.data, DEFAULT_PRICES);
  const bad = [
    { models: { "m": { input: -1, output: 1, cache_write_5m: 1, cache_write_1h: 1, cache_read: 1 } } },
    { models: { "m": { input: 1, output: 1, cache_write_5m: 1, cache_write_1h: 1 } } },
    {
      models: { "m": { input: 1, output: 1, cache_write_5m: 1, cache_write_1h: 1, cache_read: 1, extra: 2 } },
    },
    { models: { "a b": { input: 1, output: 1, cache_write_5m: 1, cache_write_1h: 1, cache_read: 1 } } },
    { models: { "m": { input: "1", output: 1, cache_write_5m: 1, cache_write_1h: 1, cache_read: 1 } } },
    { prices: {} },
    null,
  ];
  for (const body of bad) {
    assert.throws(() => PriceTable.parse(body), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 400);
      assert.match(error.message, /^invalid price table: /);
      return true;
    });
  }
  assert.throws(
    () =>
      PriceTable.parse({
        models: { m: { input: -1, output: 1, cache_write_5m: 1, cache_write_1h: 1, cache_read: 1 } },
      }),
    /models\.m\.input/,
  );
});

Deno.test("the table is data: editing a copy does not change the table", () => {
  const table = new PriceTable();
  const copy = table.data;
  copy.models["claude-sonnet-4-5*"]!.input = 999;
  assert.equal(table.lookup("claude-sonnet-4-5")?.price.input, 3);
});
