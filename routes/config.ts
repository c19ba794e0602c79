/**
 * `GET/PUT /v2/config`: the routing settings. PUT validates every key and value
 * before writing any, then writes them in one transaction and rebuilds the router, so a
 * failed PUT never leaves the settings half-written.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import { validateRoutingPatch } from "../lib/routing/routing_config.ts";
import { readJson } from "../lib/read_json_body.ts";

export function createConfigRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v2/config", async (c) => c.json(await deps.routing.config()));
  app.put("/v2/config", async (c) => {
    const result = validateRoutingPatch(await readJson(c));
    if (!result.ok) {
      // Unknown keys are quoted back; cap the message so a huge key is not echoed in full.
      const message = result.errors.join("; ");
      throw new ApiError(
        "invalid_request_error",
        message.length > 1000 ? `${message.slice(0, 1000)}…` : message,
      );
    }
    await deps.store.config.putMany(result.value);
    return c.json({ updated: Object.keys(result.value), config: await deps.routing.config() });
  });
  return app;
}
