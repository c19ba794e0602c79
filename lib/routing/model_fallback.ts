/**
 * `modelFallback`: when a request may move to another model, and which ones, from the `/v2/config` key
 * `model_fallbacks` (a model -> the models to try next, in order).
 *
 * A fallback is for a pool that cannot take the requested model right now: every account for it cooling
 * down, parked or at its hourly limit (the pool's 429), all busy (its 529), or the accounts tried just now
 * throttled or out of quota. A client error, a model nobody serves (404) or an upstream that failed for
 * another reason is answered as it is: answering a malformed request with another model would only hide it.
 * Only the requested model's own list is followed (not the lists of the models in it), so chains are
 * bounded and cannot loop.
 */
import { ApiError, UpstreamError } from "../errors.ts";

export const modelFallback = {
  /** The models to try after `model`, in order (never `model` itself). */
  candidates(fallbacks: Readonly<Record<string, readonly string[]>>, model: string): string[] {
    const list = Object.hasOwn(fallbacks, model) ? fallbacks[model] ?? [] : [];
    return [...new Set(list)].filter((m) => m !== model);
  },

  /** True when the failure means "no account can take this model right now". */
  applies(error: unknown): boolean {
    if (error instanceof ApiError) {
      return (error.type === "rate_limit_error" && error.status === 429) ||
        (error.type === "overloaded_error" && error.status === 529);
    }
    if (error instanceof UpstreamError) return error.kind === "throttled" || error.kind === "quota_exhausted";
    return false;
  },

  /** True when a fallback model has no account at all: skip to the next one. */
  unserved(error: unknown): boolean {
    return error instanceof ApiError && error.type === "not_found_error";
  },
};
