/**
 * `GET /admin/cache/stats` (admin session): the prompt-cache simulation's hits, misses and hit rate (this
 * process, since it started) and the shared store's live entries and evictions.
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";

export function createCacheStatsRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/admin/cache/stats", async (c) => {
    const s = await deps.accounting.cacheStats();
    return c.json({
      enabled: s.enabled,
      hits: s.hits,
      misses: s.misses,
      hit_rate: s.hitRate,
      entries: s.entries,
      evictions: s.evictions,
    });
  });
  return app;
}
