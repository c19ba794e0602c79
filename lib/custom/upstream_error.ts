/**
 * `upstreamError`: turns a failed custom-upstream answer (an HTTP error status, or an `error` object inside
 * an OpenAI- or Claude-format stream) into a classified `UpstreamError` the account pool can act on.
 *
 * Pure: it gets the status, the already-read body and the headers; it never fetches. It is not the client
 * error mapping (that is `UpstreamError.clientError()`). It maps to the
 * failure classes of `lib/errors.ts`, and never lets an upstream error become an empty successful message.
 */
import { CLAUDE_ERROR_STATUS, type FailureClass, UpstreamError } from "../errors.ts";
import { retryAfterMs } from "../upstream/retry_after.ts";

export interface UpstreamErrorInput {
  /** `openai` or `claude`: the wire format of the custom upstream. */
  provider: string;
  /** HTTP status, or undefined for an error that arrived inside a 200 stream. */
  status?: number | undefined;
  /** The error body: parsed JSON, raw text, or nothing. */
  body?: unknown;
  headers?: Headers | undefined;
  /** Clock (epoch ms) for a `retry-after` given as an HTTP date; without it such a date is ignored. */
  now?: number | undefined;
}

/** Longest upstream message kept, so a huge HTML error page does not end up in logs and clients. */
const MAX_MESSAGE = 500;

/** Error `type`/`code` strings that name a status when the stream error carries none. */
const TYPE_STATUS: Record<string, number> = {
  ...CLAUDE_ERROR_STATUS,
  rate_limit_exceeded: 429,
  insufficient_quota: 402,
  server_error: 500,
  service_unavailable: 503,
  context_length_exceeded: 400,
};

interface ErrorFields {
  message: string;
  type: string;
  code: string;
  numericCode: number | undefined;
}

function errorFields(body: unknown): ErrorFields {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { message: body.trim().slice(0, MAX_MESSAGE), type: "", code: "", numericCode: undefined };
    }
  }
  // OpenAI and Anthropic both wrap the details in `error`; some OpenAI-compatible servers send a bare
  // `{message}` or even an array of errors (Google's OpenAI layer).
  const root = Array.isArray(parsed) ? parsed[0] : parsed;
  const object = typeof root === "object" && root !== null ? root as Record<string, unknown> : {};
  const inner = typeof object.error === "object" && object.error !== null
    ? object.error as Record<string, unknown>
    : object;
  const rawMessage = inner.message ?? (typeof object.error === "string" ? object.error : undefined);
  const message = typeof rawMessage === "string" ? rawMessage : JSON.stringify(parsed ?? "") ?? "";
  const code = inner.code;
  return {
    message: message.slice(0, MAX_MESSAGE),
    type: typeof inner.type === "string" ? inner.type : "",
    code: typeof code === "string" ? code : "",
    numericCode: typeof code === "number"
      ? code
      : typeof inner.status === "number"
      ? inner.status
      : undefined,
  };
}

function isContextOverflow(fields: ErrorFields): boolean {
  if (fields.code === "context_length_exceeded") return true;
  return /prompt is too long|maximum context length|context length|too many tokens/i.test(fields.message);
}

/** Classifies one upstream failure. */
export function upstreamError(input: UpstreamErrorInput): UpstreamError {
  const fields = errorFields(input.body);
  const status = input.status ?? fields.numericCode ?? TYPE_STATUS[fields.code] ?? TYPE_STATUS[fields.type] ??
    500;
  const quota = fields.code === "insufficient_quota" || fields.type === "insufficient_quota";
  let kind: FailureClass;
  let message = fields.message || `upstream answered HTTP ${status}`;
  if (status === 402 || quota) kind = "quota_exhausted";
  else if (status === 429) kind = "throttled";
  else if (status === 401 || status === 403) kind = "auth";
  else if (status === 408 || status >= 500) kind = "transient";
  else if (isContextOverflow(fields)) {
    kind = "context_overflow";
    // Claude Code compacts the conversation only when the message starts like Anthropic's own.
    if (!message.startsWith("prompt is too long")) message = `prompt is too long: ${message}`;
  } else kind = "client";
  return new UpstreamError(kind, message, {
    provider: input.provider,
    upstreamStatus: input.status ?? status,
    retryAfterMs: retryAfterMs(input.headers, input.now),
  });
}
