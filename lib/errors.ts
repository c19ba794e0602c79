/**
 * Typed errors of the proxy and their Claude error JSON form.
 *
 * Every failure that reaches a client before the response starts is one of these, turned into
 * `{"type":"error","error":{"type","message"}}` with the matching status by `app.onError` (the
 * shape Claude clients parse before a stream starts). After the stream started, the same error becomes one
 * SSE `error` event. Upstream failures carry a `FailureClass` so the account pool can decide what happens
 * to the account (cooldown, parking, disabling) and whether another account may be tried.
 */

/** The Claude error types and their HTTP statuses. */
export const CLAUDE_ERROR_STATUS = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
} as const;

export type ClaudeErrorType = keyof typeof CLAUDE_ERROR_STATUS;

/** The JSON body of a Claude error response and of an SSE `error` event. */
export interface ClaudeErrorBody {
  type: "error";
  error: { type: ClaudeErrorType; message: string };
}

/** An error the client should see with a given Claude type and status. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly type: ClaudeErrorType;
  readonly status: number;
  /** Seconds for a `retry-after` header (429 and 529). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    type: ClaudeErrorType,
    message: string,
    options: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.type = type;
    this.status = options.status ?? CLAUDE_ERROR_STATUS[type];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): ClaudeErrorBody {
    return { type: "error", error: { type: this.type, message: this.message } };
  }
}

/**
 * What an upstream failure says about the account that served it. The pool acts on it:
 * - `throttled`: cool down until the retry hint, try another account;
 * - `quota_exhausted`: park until the reset time, try another account;
 * - `suspended` / `invalid_grant`: disable with the reason, try another account;
 * - `auth`: the token was refused even after one refresh; try another account;
 * - `transient`: 5xx or network trouble; try another account;
 * - `client`: the request itself is wrong (400); no other account will do better;
 * - `context_overflow`: the prompt is too long for the model; a 400 the client acts on.
 */
export type FailureClass =
  | "throttled"
  | "quota_exhausted"
  | "suspended"
  | "invalid_grant"
  | "auth"
  | "transient"
  | "client"
  | "context_overflow";

/** Failure classes after which another account may serve the same request. */
export const FAILOVER_CLASSES: ReadonlySet<FailureClass> = new Set([
  "throttled",
  "quota_exhausted",
  "suspended",
  "invalid_grant",
  "auth",
  "transient",
]);

/** An upstream call failed; `kind` classifies it for the pool, `clientError()` for the client. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
  readonly kind: FailureClass;
  /** The provider that failed: `amazonq`, `gemini`, `openai`, `claude`, `google-oauth`, ... */
  readonly provider: string;
  /** HTTP status the upstream answered, if it answered. */
  readonly upstreamStatus: number | undefined;
  /** When the upstream said to retry (throttling), in ms from now. */
  readonly retryAfterMs: number | undefined;
  /** When an exhausted quota resets (epoch ms). */
  readonly resetAt: number | undefined;

  constructor(
    kind: FailureClass,
    message: string,
    options: {
      provider: string;
      upstreamStatus?: number;
      retryAfterMs?: number;
      resetAt?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.provider = options.provider;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterMs = options.retryAfterMs;
    this.resetAt = options.resetAt;
  }

  /** The Claude error a client gets when this is the final outcome of its request. */
  clientError(): ApiError {
    const retryAfterSeconds = this.retryAfterMs === undefined
      ? undefined
      : Math.max(1, Math.ceil(this.retryAfterMs / 1000));
    switch (this.kind) {
      case "context_overflow":
        return new ApiError("invalid_request_error", this.message, { cause: this });
      case "client": {
        const status = this.upstreamStatus;
        if (status === 413) return new ApiError("request_too_large", this.message, { cause: this });
        if (status === 404) return new ApiError("not_found_error", this.message, { cause: this });
        return new ApiError("invalid_request_error", this.message, { cause: this });
      }
      case "throttled":
      case "quota_exhausted":
        return new ApiError("rate_limit_error", this.message, {
          retryAfterSeconds: retryAfterSeconds ?? 30,
          cause: this,
        });
      case "transient":
        if (this.upstreamStatus === 529 || this.upstreamStatus === 503) {
          return new ApiError("overloaded_error", this.message, { retryAfterSeconds, cause: this });
        }
        return new ApiError("api_error", this.message, { status: 502, cause: this });
      case "suspended":
      case "invalid_grant":
      case "auth":
        return new ApiError("api_error", `upstream account unusable: ${this.message}`, {
          status: 502,
          cause: this,
        });
    }
  }
}

/** Malformed upstream wire data (a bad CRC, a truncated frame, a JSON payload that does not parse). */
export class ProtocolError extends SyntaxError {
  override name = "ProtocolError";
  /** Byte offset in the upstream stream where the problem was found, when known. */
  readonly offset: number | undefined;
  constructor(message: string, options: { offset?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.offset = options.offset;
  }
}

/** A configuration value is invalid; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Converts anything thrown into the Claude error the client should see. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof UpstreamError) return error.clientError();
  // `ParseError` is the SSE parser's (an event line over its buffer limit): upstream data, not our bug.
  if (error instanceof ProtocolError || (error instanceof Error && error.name === "ParseError")) {
    return new ApiError("api_error", `upstream sent malformed data: ${error.message}`, {
      status: 502,
      cause: error,
    });
  }
  return new ApiError("api_error", "internal server error", { cause: error });
}
