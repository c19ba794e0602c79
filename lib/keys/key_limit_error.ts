/**
 * A request refused by its key's rules (a limit, a budget, the concurrency queue). It is an `ApiError`, so
 * `app.onError` shapes it like any other; it also carries the key's rate-limit state, so the refusal gets
 * the same rate-limit headers as a success.
 */
import { ApiError, type ClaudeErrorType } from "../errors.ts";
import type { RateLimitSnapshot } from "./rate_limit_headers.ts";

export class KeyLimitError extends ApiError {
  override name = "KeyLimitError";
  readonly snapshot: RateLimitSnapshot;

  constructor(
    type: ClaudeErrorType,
    message: string,
    snapshot: RateLimitSnapshot,
    options: { retryAfterSeconds?: number; status?: number; cause?: unknown } = {},
  ) {
    super(type, message, options);
    this.snapshot = snapshot;
  }
}
