/**
 * `brokeOff`: the one failure every channel reports when an upstream connection closes or resets before the
 * answer is complete.
 *
 * It is `transient`: another account (or a later try) may well succeed, and the pool records it against
 * the account that broke off. The wording is the same for every upstream so clients and logs can tell a cut
 * connection from a malformed answer or a refusal, whichever backend served the request.
 */
import { UpstreamError } from "../errors.ts";

export function brokeOff(provider: string, detail: string, cause?: unknown): UpstreamError {
  return new UpstreamError("transient", `upstream broke off: ${detail}`, {
    provider,
    cause: cause ?? detail,
  });
}
