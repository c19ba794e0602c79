/**
 * The rate-limit headers a limited key gets on every answer, in the client's dialect: Anthropic's
 * `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (reset as an RFC 3339 time) on the Claude
 * API, OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (reset as a duration such as
 * `6m0s`) on the OpenAI-compatible one. SDKs and Claude Code read them to pace themselves.
 */

export interface LimitState {
  limit: number;
  remaining: number;
  /** Epoch ms the window resets. */
  reset: number;
}

export interface RateLimitSnapshot {
  requests?: LimitState;
  tokens?: LimitState;
}

/** `1h2m3s`, `6m0s`, `20s`, `0s`: the duration form OpenAI's headers use. */
function duration(ms: number): string {
  let seconds = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

export function rateLimitHeaders(
  snapshot: RateLimitSnapshot,
  dialect: "anthropic" | "openai",
  now: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const state = snapshot[kind];
    if (!state) continue;
    const remaining = String(Math.max(0, state.remaining));
    if (dialect === "anthropic") {
      headers[`anthropic-ratelimit-${kind}-limit`] = String(state.limit);
      headers[`anthropic-ratelimit-${kind}-remaining`] = remaining;
      headers[`anthropic-ratelimit-${kind}-reset`] = new Date(state.reset).toISOString().replace(
        /\.\d{3}Z$/,
        "Z",
      );
    } else {
      headers[`x-ratelimit-limit-${kind}`] = String(state.limit);
      headers[`x-ratelimit-remaining-${kind}`] = remaining;
      headers[`x-ratelimit-reset-${kind}`] = duration(state.reset - now);
    }
  }
  return headers;
}
