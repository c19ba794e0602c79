/**
 * Liveness and readiness. `/health` answers 200 while the process serves requests (container health
 * checks); `/ready` answers 200 only when the store is reachable and at least one account is usable, and 503
 * otherwise, so a load balancer or an operator can tell "up" from "able to serve".
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";

export function createHealthRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => c.json({ status: "ok", service: "amq2api" }));
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    try {
      await deps.store.ping();
    } catch {
      return c.json({ status: "unready", reason: "store_unreachable" }, 503);
    }
    const usable = await deps.pool.usableAccounts();
    const counts = await deps.store.accounts.count();
    if (usable.length === 0) {
      return c.json({ status: "unready", reason: "no_usable_account", total_accounts: counts.total }, 503);
    }
    return c.json({ status: "ready", usable_accounts: usable.length, total_accounts: counts.total });
  });
  return app;
}
