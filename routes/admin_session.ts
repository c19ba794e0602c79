/**
 * Admin setup, login and logout (`/api/admin/status`, `/setup`, `/login`,
 * `/logout`). The session token is returned in the body (for `X-Session-Token`) and set as an HttpOnly,
 * SameSite=Strict cookie (`Secure` whenever the client spoke https, directly or to the trusted proxy); login
 * limits are per client address and username (see `AdminAuth`). Setup, login and logout only take
 * same-origin JSON requests (`RequestAuth.assertSameOrigin`).
 */
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { RequestAuth } from "../lib/admin/request_auth.ts";
import { SESSION_COOKIE } from "../lib/admin/request_auth.ts";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import { readJsonBody } from "../lib/read_json_body.ts";

const setupSchema = z.object({
  username: z.string().trim(),
  password: z.string(),
  confirmPassword: z.string().optional(),
});
const loginSchema = z.object({ username: z.string().trim().max(200), password: z.string().max(4096) });

export function createAdminSessionRoutes(deps: Deps, auth: RequestAuth): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/api/admin/status", async (c) => c.json(await deps.admin.status()));

  app.post("/api/admin/setup", async (c) => {
    // The first admin is created from the server itself (or by ADMIN_USERNAME/ADMIN_PASSWORD): a fresh
    // install reachable from the network must not go to whoever finds it first.
    if (!auth.isLocalClient(c)) {
      throw new ApiError(
        "permission_error",
        "the first admin can only be created from the server itself, or with ADMIN_USERNAME and ADMIN_PASSWORD",
      );
    }
    // "From the server itself" includes every web page the local browser opens, and rebound DNS names.
    await auth.assertSameOrigin(c, true);
    const body = await readJsonBody(c, setupSchema);
    if (body.confirmPassword !== undefined && body.confirmPassword !== body.password) {
      throw new ApiError("invalid_request_error", "confirmPassword: does not match password");
    }
    await deps.admin.setup(body.username, body.password);
    deps.log.info("admin account created");
    return c.json({ success: true });
  });

  app.post("/api/admin/login", async (c) => {
    await auth.assertSameOrigin(c, false);
    const body = await readJsonBody(c, loginSchema);
    const { token, expiresAt } = await deps.admin.login(body.username, body.password, auth.clientAddress(c));
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: auth.isTls(c),
      maxAge: Math.floor(deps.admin.sessionTtlMs / 1000),
    });
    return c.json({ success: true, token, expires_at: new Date(expiresAt).toISOString() });
  });

  app.post("/api/admin/logout", async (c) => {
    const token = auth.sessionToken(c);
    if (!token) throw new ApiError("authentication_error", "no session token");
    await auth.assertSameOrigin(c, false);
    await deps.admin.logout(token);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.json({ success: true });
  });

  return app;
}
