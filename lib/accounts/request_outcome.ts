/**
 * What a failed request's usage record says about it: its outcome (the upstream failure class,
 * `client_closed`, or the error's type) and the error's own message, which the console's request log shows so
 * an operator sees what went wrong without the server's log. The message is the error's text, bounded: the
 * errors raised on this path name limits, statuses and upstream replies, never the prompt or the answer.
 */
import { ApiError, ProtocolError, UpstreamError } from "../errors.ts";

/** Longest error message kept in a usage record. */
const MAX_MESSAGE = 500;

/** The error as the account's failure, when it is one: upstream errors and malformed upstream data. */
export function asUpstreamError(error: unknown): UpstreamError | null {
  if (error instanceof UpstreamError) return error;
  // `ParseError` is the SSE parser's (an event line over its buffer limit): the upstream's data, so the
  // account's failure, like a `ProtocolError`.
  if (error instanceof ProtocolError || (error instanceof Error && error.name === "ParseError")) {
    return new UpstreamError("transient", `malformed upstream data: ${error.message}`, {
      provider: "stream",
      cause: error,
    });
  }
  return null;
}

export function requestOutcome(
  error: unknown,
  signal: AbortSignal,
): { outcome: string; error_message: string } {
  const upstream = asUpstreamError(error);
  const bounded = (message: string) =>
    message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
  if (upstream) return { outcome: upstream.kind, error_message: bounded(upstream.message) };
  if (signal.aborted || (error instanceof ApiError && error.status === 499)) {
    return { outcome: "client_closed", error_message: "the client closed the request" };
  }
  if (error instanceof ApiError) return { outcome: error.type, error_message: bounded(error.message) };
  return {
    outcome: "stream_error",
    error_message: bounded(error instanceof Error ? error.message : String(error ?? "stream failed")),
  };
}
