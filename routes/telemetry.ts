/**
 * Claude Code posts telemetry batches to `/api/event_logging/batch` when its telemetry is on; they are
 * accepted and dropped so the client does not log errors.
 */
import { Hono } from "hono";
import type { AppEnv } from "../lib/app_env.ts";

export function createTelemetryRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/api/event_logging/batch", async (c) => {
    await c.req.arrayBuffer().catch(() => undefined);
    return c.json({ status: "ok" });
  });
  return app;
}
