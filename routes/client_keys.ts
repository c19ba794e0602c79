/**
 * `/v2/keys`: client keys for the API, stored as digests. A new key is shown once, at creation.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import { readJsonBody } from "../lib/read_json_body.ts";

const createSchema = z.object({ label: z.string().max(200).nullish() });

export function createClientKeyRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v2/keys", async (c) => c.json(await deps.store.clientKeys.list()));
  app.post("/v2/keys", async (c) => {
    const body = await readJsonBody(c, createSchema);
    const { key, record } = await deps.clientKeys.create(body.label ?? null);
    return c.json({ ...record, key }, 201);
  });
  app.delete("/v2/keys/:id", async (c) => {
    const id = c.req.param("id");
    if (!(await deps.store.clientKeys.delete(id))) {
      throw new ApiError("not_found_error", `key ${id} not found`);
    }
    return c.json({ deleted: id });
  });
  return app;
}
