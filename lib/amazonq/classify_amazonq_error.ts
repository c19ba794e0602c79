/**
 * `classifyAmazonQError`: turns an Amazon Q failure (an HTTP error answer or an exception frame inside the
 * event stream) into a classified `UpstreamError` the account pool can act on.
 *
 * Amazon Q names its errors by exception type (throttling, validation, access denied, service quota, ...), with
 * a `reason` field on some. Type names are matched by substring because the awsJson flavour namespaces them
 * (`com.amazon.aws.codewhisperer#ThrottlingException`) and the Rust client spells some as `...Error`; the
 * `reason` enum decides where the type alone is ambiguous (the monthly limit arrives as a throttling error
 * with status 400 or 429). It is pure: no I/O, the clock is an argument. It never copies request data or
 * credentials into messages, only the upstream's own short error text.
 */
import { UpstreamError } from "../errors.ts";

export interface AmazonQFailure {
  /** HTTP status, when the failure was an HTTP answer (absent for exception frames). */
  status?: number;
  /** Error type name (`__type`, `x-amzn-errortype`, `:exception-type` or `:error-code`). */
  type?: string;
  message?: string;
  reason?: string;
  /** The raw error body, when the fields above were not parsed yet. */
  body?: string;
  /** From a `retry-after` header. */
  retryAfterMs?: number;
  /** Epoch ms; needed for quota reset times. */
  now?: number;
}

const MAX_MESSAGE = 300;

const CONTEXT_OVERFLOW =
  /CONTENT_LENGTH_EXCEEDS_THRESHOLD|PROMPT_TOO_LONG|input content length exceeds|(prompt|input|conversation) is too long|context (length|window)|too many (input )?tokens/i;
const CAPACITY = /INSUFFICIENT_MODEL_CAPACITY|MODEL_TEMPORARILY_UNAVAILABLE|high (traffic|load)/i;
/** 403 reasons that are about what the account may do, not about the token being stale. */
const PERMISSION_REASONS =
  /FEATURE_NOT_SUPPORTED|UNAUTHORIZED_CUSTOMIZATION_RESOURCE_ACCESS|UNAUTHORIZED_WORKSPACE_CONTEXT_FEATURE_ACCESS/;

/** Reads `{__type, message, reason}` out of an error body, tolerating non-JSON bodies. */
function parseBody(body: string): { type?: string; message?: string; reason?: string } {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object") {
      const o = parsed as Record<string, unknown>;
      const str = (v: unknown) => (typeof v === "string" ? v : undefined);
      return {
        type: str(o.__type) ?? str(o.code) ?? str(o.error),
        message: str(o.message) ?? str(o.Message) ?? str(o.error_description),
        reason: str(o.reason),
      };
    }
  } catch {
    // Not JSON (a proxy's HTML page, plain text): keep the text itself as the message.
  }
  return { message: body };
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}...` : flat;
}

function nextUtcMonth(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

function nextUtcDay(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** Classifies one Amazon Q failure. */
export function classifyAmazonQError(failure: AmazonQFailure): UpstreamError {
  const fromBody = failure.body !== undefined ? parseBody(failure.body) : {};
  const type = (failure.type ?? fromBody.type ?? "").replace(/^.*[#:]/, "");
  const message = failure.message ?? fromBody.message ?? "";
  const reason = failure.reason ?? fromBody.reason ?? "";
  const status = failure.status;
  const everything = `${type} ${reason} ${message} ${failure.body ?? ""}`;
  const label = type || (status !== undefined ? `HTTP ${status}` : "error");
  const text = clip(`Amazon Q ${label}${reason ? ` (${reason})` : ""}${message ? `: ${message}` : ""}`);
  const base = { provider: "amazonq", upstreamStatus: status, retryAfterMs: failure.retryAfterMs };

  if (/TEMPORARILY_SUSPENDED/.test(everything)) return new UpstreamError("suspended", text, base);
  if (/MONTHLY_REQUEST_COUNT|OVERAGE_REQUEST_LIMIT_EXCEEDED/.test(everything)) {
    const resetAt = failure.now === undefined ? undefined : nextUtcMonth(failure.now);
    return new UpstreamError("quota_exhausted", text, { ...base, resetAt });
  }
  if (/DAILY_REQUEST_COUNT/.test(everything)) {
    const resetAt = failure.now === undefined ? undefined : nextUtcDay(failure.now);
    return new UpstreamError("quota_exhausted", text, { ...base, resetAt });
  }
  if (/ServiceQuotaExceeded/i.test(type) || status === 402) {
    const resetAt = failure.now === undefined ? undefined : nextUtcMonth(failure.now);
    return new UpstreamError("quota_exhausted", text, { ...base, resetAt });
  }
  if (/Validation/i.test(type) || status === 400 || status === 413) {
    if (CONTEXT_OVERFLOW.test(everything)) {
      // Claude clients compact the conversation when the message starts like this (Claude Code's "Prompt is too long").
      return new UpstreamError(
        "context_overflow",
        clip(`prompt is too long: ${message || reason || label}`),
        base,
      );
    }
  }
  if (CAPACITY.test(everything)) return new UpstreamError("transient", text, base);
  if (/Throttling/i.test(type) || status === 429) return new UpstreamError("throttled", text, base);
  if (
    /AccessDenied|Unauthori[sz]ed|ExpiredToken|InvalidToken/i.test(type) || status === 401 || status === 403
  ) {
    return new UpstreamError("auth", text, base);
  }
  if (/Validation|ResourceNotFound|Conflict/i.test(type)) return new UpstreamError("client", text, base);
  if (status !== undefined && status >= 400 && status < 500) return new UpstreamError("client", text, base);
  return new UpstreamError("transient", text, base);
}

/** True when a 401/403 answer may be cured by refreshing the token (not a permission or suspension). */
export function isStaleTokenAnswer(status: number, body: string): boolean {
  return (status === 401 || status === 403) && !/TEMPORARILY_SUSPENDED/.test(body) &&
    !PERMISSION_REASONS.test(body);
}
