/**
 * Authentication middleware: client keys for the API, admin sessions for the console and `/v2`.
 *
 * A request to the API is let in with a client key (`x-api-key` or `Authorization: Bearer`) or a live admin
 * session (the console tests accounts through `/v1/messages`). Admin routes take the session token from the
 * `X-Session-Token` header or the HttpOnly session cookie. The client address used for loopback-only mode
 * and login limits is the socket's, or the one the trusted proxy saw (`ClientAddress`). Credentials a
 * browser attaches by itself (the cookie, the key-less loopback mode) only count for same-origin requests.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv, Deps } from "../app_env.ts";
import { ApiError } from "../errors.ts";
import { ClientAddress, type ResolvedClient } from "./client_address.ts";
import { isLoopback } from "./client_key_auth.ts";
import { sameOriginProblem } from "./same_origin_problem.ts";

export const SESSION_COOKIE = "amq2api_session";

/** What a refused client key is told. */
const REFUSALS = {
  missing: "missing client key: send x-api-key or Authorization: Bearer",
  invalid: "invalid client key",
  disabled: "this client key is disabled",
  expired: "this client key has expired",
} as const;

export class RequestAuth {
  #deps: Deps;
  #addresses: ClientAddress;

  constructor(deps: Deps) {
    this.#deps = deps;
    this.#addresses = new ClientAddress(deps.config.trustProxy, deps.config.trustedProxies);
  }

  #resolve(c: Context<AppEnv>): ResolvedClient {
    return this.#addresses.resolve(c.env?.remoteAddr?.hostname, (name) => c.req.header(name));
  }

  /** The client's address as the server should believe it. */
  clientAddress(c: Context<AppEnv>): string {
    return this.#resolve(c).address;
  }

  /** True when the client spoke https to us or to our trusted proxy (the session cookie is then `Secure`). */
  isTls(c: Context<AppEnv>): boolean {
    return new URL(c.req.url).protocol === "https:" || this.#resolve(c).tls ||
      (this.#deps.config.baseUrl?.startsWith("https:") ?? false);
  }

  /**
   * True for a client on this machine. A loopback socket that carries forwarding headers it is not trusted
   * for is a reverse proxy speaking for someone else, so it does not count (otherwise a local nginx would open
   * the server to the world in loopback-only mode).
   */
  isLocalClient(c: Context<AppEnv>): boolean {
    const resolved = this.#resolve(c);
    if (resolved.forwarded) return isLoopback(resolved.address);
    const proxied = c.req.header("x-forwarded-for") !== undefined ||
      c.req.header("forwarded") !== undefined ||
      c.req.header("x-real-ip") !== undefined;
    return !proxied && isLoopback(c.env?.remoteAddr?.hostname);
  }

  sessionToken(c: Context<AppEnv>): string | undefined {
    return c.req.header("x-session-token") ?? getCookie(c, SESSION_COOKIE);
  }

  /**
   * Refuses a request a browser may have been made to send (see `sameOriginProblem`): used wherever the
   * credential is ambient (the session cookie, key-less loopback mode); `checkHost` adds the DNS-rebinding
   * check of the key-less mode.
   */
  async assertSameOrigin(c: Context<AppEnv>, checkHost: boolean): Promise<void> {
    const refusal = await sameOriginProblem({
      url: c.req.url,
      header: (name) => c.req.header(name),
      // A proxy that rewrites Host says what the browser asked for; believed from a trusted proxy only.
      forwardedHost: this.#addresses.trusts(c.env?.remoteAddr?.hostname)
        ? c.req.header("x-forwarded-host")?.split(",").at(-1)?.trim()
        : undefined,
      baseUrl: this.#deps.config.baseUrl,
      hasBody: () => hasBody(c),
      checkHost,
    });
    if (!refusal) return;
    throw refusal.status === 415
      ? new ApiError("invalid_request_error", refusal.message, { status: 415 })
      : new ApiError("permission_error", refusal.message);
  }

  /** True when the session came from the cookie rather than the `X-Session-Token` header. */
  #cookieSession(c: Context<AppEnv>): boolean {
    return c.req.header("x-session-token") === undefined && getCookie(c, SESSION_COOKIE) !== undefined;
  }

  /** Middleware for API routes. */
  client(): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      const token = this.sessionToken(c);
      if (token) {
        const adminId = await this.#deps.admin.verifySession(token);
        if (adminId) {
          if (this.#cookieSession(c)) await this.assertSameOrigin(c, false);
          c.set("principal", { kind: "admin", id: adminId });
          return await next();
        }
      }
      const bearer = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
      const presented = c.req.header("x-api-key")?.trim() || bearer;
      const loopback = this.isLocalClient(c);
      const result = await this.#deps.clientKeys.check(presented, loopback);
      if (!result.ok) {
        this.#deps.metrics.keyRejected(result.reason);
        if (result.reason === "loopback_only") {
          throw new ApiError(
            "permission_error",
            "no client key is configured, so this server only serves local clients; set API_KEY or create a key",
          );
        }
        throw new ApiError("authentication_error", REFUSALS[result.reason]);
      }
      // Key-less loopback mode: any local web page, or a rebound DNS name, could reach it.
      if (result.keyId === "loopback") await this.assertSameOrigin(c, true);
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
      if (this.#cookieSession(c)) await this.assertSameOrigin(c, false);
      c.set("principal", { kind: "admin", id: adminId });
      await next();
    };
  }
}

/**
 * Whether a request carries a non-empty body. The runtime gives every POST a body stream, even an empty one
 * without `Content-Length`, so when the headers do not say, a copy of the body is read (the route still
 * gets the original untouched).
 */
async function hasBody(c: Context<AppEnv>): Promise<boolean> {
  const length = c.req.header("content-length");
  if (length !== undefined) return Number(length) > 0;
  if (c.req.header("transfer-encoding") !== undefined) return true;
  if (c.req.raw.body === null) return false;
  return (await c.req.raw.clone().arrayBuffer()).byteLength > 0;
}
