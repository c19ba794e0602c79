/**
 * Authentication middleware: client keys for the API, admin sessions for the console and `/v2`.
 *
 * A request to the API is let in with a client key (`x-api-key` or `Authorization: Bearer`) or a live admin
 * session (the console tests accounts through `/v1/messages`). Admin routes take the session token from the
 * `X-Session-Token` header or the HttpOnly session cookie. The client address used for loopback-only mode
 * and login limits is the socket's, or `X-Forwarded-For`'s first hop only when `TRUST_PROXY` is set.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv, Deps } from "../app_env.ts";
import { ApiError } from "../errors.ts";
import { isLoopback } from "./client_key_auth.ts";

export const SESSION_COOKIE = "amq2api_session";

export class RequestAuth {
  #deps: Deps;

  constructor(deps: Deps) {
    this.#deps = deps;
  }

  /** The client's address as the server should believe it. */
  clientAddress(c: Context<AppEnv>): string {
    if (this.#deps.config.trustProxy) {
      const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
      if (forwarded) return forwarded;
    }
    return c.env?.remoteAddr?.hostname ?? "unknown";
  }

  /**
   * True for a client on this machine. A loopback socket that carries forwarding headers is a reverse proxy
   * speaking for someone else, so it does not count (otherwise a local nginx would open the server to the
   * world in loopback-only mode).
   */
  isLocalClient(c: Context<AppEnv>): boolean {
    if (this.#deps.config.trustProxy) return isLoopback(this.clientAddress(c));
    const proxied = c.req.header("x-forwarded-for") !== undefined ||
      c.req.header("forwarded") !== undefined ||
      c.req.header("x-real-ip") !== undefined;
    return !proxied && isLoopback(c.env?.remoteAddr?.hostname);
  }

  sessionToken(c: Context<AppEnv>): string | undefined {
    return c.req.header("x-session-token") ?? getCookie(c, SESSION_COOKIE);
  }

  /** Middleware for API routes. */
  client(): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      const token = this.sessionToken(c);
      if (token) {
        const adminId = await this.#deps.admin.verifySession(token);
        if (adminId) {
          c.set("principal", { kind: "admin", id: adminId });
          return await next();
        }
      }
      const bearer = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
      const presented = c.req.header("x-api-key")?.trim() || bearer;
      const loopback = this.isLocalClient(c);
      const result = await this.#deps.clientKeys.check(presented, loopback);
      if (!result.ok) {
        if (result.reason === "loopback_only") {
          throw new ApiError(
            "permission_error",
            "no client key is configured, so this server only serves local clients; set API_KEY or create a key",
          );
        }
        throw new ApiError(
          "authentication_error",
          result.reason === "missing"
            ? "missing client key: send x-api-key or Authorization: Bearer"
            : "invalid client key",
        );
      }
      c.set("principal", { kind: "client", id: result.keyId });
      await next();
    };
  }

  /** Middleware for admin routes. */
  admin(): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      const token = this.sessionToken(c);
      const adminId = token ? await this.#deps.admin.verifySession(token) : null;
      if (!adminId) {
        if ((await this.#deps.store.admins.count()) === 0) {
          throw new ApiError(
            "permission_error",
            "administration is disabled until an admin account is set up",
          );
        }
        throw new ApiError(
          "authentication_error",
          token ? "session expired or invalid" : "admin login required",
        );
      }
      c.set("principal", { kind: "admin", id: adminId });
      await next();
    };
  }
}
