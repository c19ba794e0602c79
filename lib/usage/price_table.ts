/**
 * `PriceTable`: what a request cost, from a per-model table of USD prices per million tokens.
 *
 * Five rates per model: input, output, 5-minute cache write, 1-hour cache write and cache read, because a
 * coding agent's bill is mostly cache reads and writes and pricing them as input would overstate it several
 * times. A model is matched by its exact name first, then by the most specific family pattern (`*` matches
 * any run of characters; the pattern with the most literal characters wins, so `gemini-2.5-flash-lite*` beats
 * `gemini-2.5-flash*`). A model nothing matches is "unpriced": `usd: null, priced: false`, never a silent 0.
 * The table is plain data validated by `priceTableSchema`, so an admin can read and replace it at run time
 * and a usage record can store the cost computed when it was written.
 */
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { DEFAULT_PRICES } from "./default_prices.ts";

const rate = z.number().finite().nonnegative().max(100_000);

export const modelPriceSchema = z.strictObject({
  input: rate,
  output: rate,
  cache_write_5m: rate,
  cache_write_1h: rate,
  cache_read: rate,
});

/** The editable table (`GET`/`PUT /v2/pricing` body). */
export const priceTableSchema = z.strictObject({
  source: z.string().max(500).optional(),
  models: z.record(
    z.string().trim().min(1).max(200).regex(/^[^\s]+$/, "model names and patterns contain no spaces"),
    modelPriceSchema,
  ).refine((models) => Object.keys(models).length <= 2000, "at most 2000 models"),
});

export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type PriceTableData = z.infer<typeof priceTableSchema>;

/** The usage fields a cost depends on (a Claude `usage` object fits). */
export interface BillableUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | undefined;
  cache_read_input_tokens?: number | undefined;
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } | undefined;
}

export type Cost =
  | { usd: number; priced: true; match: string }
  | { usd: null; priced: false };

interface Pattern {
  key: string;
  regex: RegExp;
  literal: number;
  price: ModelPrice;
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

export class PriceTable {
  #data: PriceTableData;
  #exact = new Map<string, ModelPrice>();
  #patterns: Pattern[] = [];

  constructor(data: PriceTableData = DEFAULT_PRICES) {
    this.#data = structuredClone(data);
    for (const [key, price] of Object.entries(this.#data.models)) {
      const name = key.toLowerCase();
      if (!name.includes("*")) {
        this.#exact.set(name, price);
        continue;
      }
      const regex = new RegExp("^" + name.split("*").map(escape).join(".*") + "$");
      this.#patterns.push({ key, regex, literal: name.replaceAll("*", "").length, price });
    }
    this.#patterns.sort((a, b) => b.literal - a.literal);
  }

  /** Validates an edited table; a bad one is a 400 naming the first problem. */
  static parse(input: unknown): PriceTable {
    const parsed = priceTableSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length > 0 ? issue.path.join(".") + ": " : "";
      throw new ApiError("invalid_request_error", `invalid price table: ${where}${issue.message}`);
    }
    return new PriceTable(parsed.data);
  }

  /** A copy of the table, as an admin reads it. */
  get data(): PriceTableData {
    return structuredClone(this.#data);
  }

  /** The prices for a model and the key that matched, or null. */
  lookup(model: string): { match: string; price: ModelPrice } | null {
    const name = model.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact) return { match: name, price: exact };
    for (const p of this.#patterns) if (p.regex.test(name)) return { match: p.key, price: p.price };
    return null;
  }

  cost(usage: BillableUsage, model: string): Cost {
    const found = this.lookup(model);
    if (!found) return { usd: null, priced: false };
    const p = found.price;
    const creation = usage.cache_creation_input_tokens ?? 0;
    const oneHour = Math.min(creation, usage.cache_creation?.ephemeral_1h_input_tokens ?? 0);
    // Without a breakdown every write is a 5-minute one, the API's default.
    const fiveMin = creation - oneHour;
    const microUsd = usage.input_tokens * p.input + usage.output_tokens * p.output +
      fiveMin * p.cache_write_5m + oneHour * p.cache_write_1h +
      (usage.cache_read_input_tokens ?? 0) * p.cache_read;
    // Rounded to a billionth of a dollar so sums of stored costs do not drift with float noise.
    return { usd: Math.round(microUsd * 1000) / 1e9, priced: true, match: found.match };
  }
}
