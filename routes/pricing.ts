/**
 * `GET`/`PUT /v2/pricing` (admin): the price table in USD per million tokens (input, output, 5-minute and
 * 1-hour cache writes, cache reads) per model name or `*` family pattern. A `PUT` replaces the whole table
 * after validation (400 naming the first problem); it applies to records written from then on, never to
 * stored ones.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { readJsonBody } from "../lib/read_json_body.ts";
import { priceTableSchema } from "../lib/usage/price_table.ts";

export function createPricingRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v2/pricing", async (c) => c.json((await deps.accounting.prices()).data));
  app.put("/v2/pricing", async (c) => {
    const body = await readJsonBody(c, priceTableSchema);
    return c.json((await deps.accounting.setPrices(body)).data);
  });
  return app;
}
