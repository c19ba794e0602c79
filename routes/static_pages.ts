/**
 * The web pages: `/admin` (console; it authenticates in the browser against the admin API) and
 * `/dashboard`. Files are read from `deps.staticDir`, an absolute path derived from the module location, so
 * they are found inside a compiled binary whatever the working directory.
 */
import { Hono } from "hono";
import { join } from "node:path";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";

const PAGES: Record<string, string> = { "/admin": "admin.html", "/dashboard": "admin.html" };

export function createStaticPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  for (const [path, file] of Object.entries(PAGES)) {
    app.get(path, async (c) => {
      let html: string;
      try {
        html = await Deno.readTextFile(join(deps.staticDir, file));
      } catch {
        throw new ApiError("not_found_error", `page ${path} is not installed`);
      }
      c.header(
        "content-security-policy",
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      );
      c.header("x-frame-options", "DENY");
      return c.html(html);
    });
  }
  return app;
}
