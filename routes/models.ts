/**
 * `GET /v1/models`: the models routable right now (a usable account of a channel that serves them).
 * Anthropic clients (those sending `anthropic-version`) get Anthropic's list shape; others get OpenAI's.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";

const CREATED = "2025-01-01T00:00:00Z";

export function createModelRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v1/models", async (c) => {
    const router = await deps.routing.router();
    const models = router.listModels(await deps.pool.usableAccounts());
    const anthropic = c.req.header("anthropic-version") !== undefined ||
      c.req.header("x-api-key") !== undefined;
    if (anthropic) {
      return c.json({
        data: models.map((m) => ({ type: "model", id: m.id, display_name: m.id, created_at: CREATED })),
        has_more: false,
        first_id: models[0]?.id ?? null,
        last_id: models.at(-1)?.id ?? null,
      });
    }
    return c.json({
      object: "list",
      data: models.map((m) => ({ id: m.id, object: "model", created: 1735689600, owned_by: m.owned_by })),
    });
  });
  return app;
}
