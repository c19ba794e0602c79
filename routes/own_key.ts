/**
 * `GET /v1/key`: a client key's view of itself: its settings, what it used and has left in each window,
 * and when each window resets. Keys from `API_KEY` learn that they are unlimited.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";

export function createOwnKeyRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v1/key", async (c) => c.json(await deps.keyLimits.status(c.get("principal"))));
  return app;
}
