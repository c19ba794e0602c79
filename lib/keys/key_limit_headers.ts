/**
 * Middleware for `/v1/*`: every answer to a client key with request or token limits carries its rate-limit
 * headers, in the dialect of the route (OpenAI's on `/v1/chat/completions`, Anthropic's elsewhere). Answers
 * that went through admission already have them (from the admission's own counts); for the others (bad
 * input, a refusal before the counters, `count_tokens`, `/v1/key`) the key's windows are read once. Keys
 * without such limits cost nothing here.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { KeyLimits } from "./key_limits.ts";
import { rateLimitHeaders } from "./rate_limit_headers.ts";

const SET_BY_ADMISSION = [
  "anthropic-ratelimit-requests-limit",
  "anthropic-ratelimit-tokens-limit",
  "x-ratelimit-limit-requests",
  "x-ratelimit-limit-tokens",
];

export function keyLimitHeaders(limits: KeyLimits, now: () => number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const principal = c.get("principal");
    if (!principal || principal.kind !== "client") return;
    if (SET_BY_ADMISSION.some((name) => c.res.headers.has(name))) return;
    try {
      const snapshot = await limits.currentSnapshot(principal);
      if (!snapshot) return;
      const dialect = c.req.path === "/v1/chat/completions" ? "openai" : "anthropic";
      for (const [name, value] of Object.entries(rateLimitHeaders(snapshot, dialect, now()))) {
        c.res.headers.set(name, value);
      }
    } catch {
      // Headers are advice; an answer is never failed for want of them.
    }
  };
}
