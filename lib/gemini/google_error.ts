/**
 * Classifies a Google API error (Code Assist `v1internal`, HTTP status plus `{error:{code,status,message,
 * details}}`) into an `UpstreamError` the account pool can act on.
 *
 * Pure: the caller passes the clock. Reads Google's error details as gemini-cli's `classifyGoogleError`
 * does (`google.rpc.RetryInfo`, `QuotaFailure` and `ErrorInfo`) with the pool's failure classes: a short
 * retry hint is `throttled` (cool down), a daily or exhausted quota is `quota_exhausted` (park until the reset).
 * It is not an OAuth error parser (`{error:"invalid_grant"}` belongs to the refresher). Messages carry
 * Google's own message text, trimmed; Google never echoes tokens in it.
 */
import { type FailureClass, UpstreamError } from "../errors.ts";

/** Retry hints longer than this mean "come back much later": the quota is gone, not throttled. */
const MAX_THROTTLE_MS = 300_000;
/** Cool-down when Google says 429 without any hint (gemini-cli waits 60 s for per-minute quotas). */
const DEFAULT_THROTTLE_MS = 60_000;
/** Parking time when a quota is exhausted and Google gives no reset time. */
const DEFAULT_QUOTA_RESET_MS = 3_600_000;
const MAX_MESSAGE_CHARS = 400;

interface GoogleErrorDetail {
  "@type"?: string;
  reason?: string;
  domain?: string;
  retryDelay?: string;
  metadata?: Record<string, unknown>;
  violations?: Array<{ quotaId?: string; quotaMetric?: string; description?: string }>;
}

interface GoogleErrorObject {
  code?: number;
  status?: string;
  message?: string;
  details?: GoogleErrorDetail[];
}

/** Parses a Google duration such as `"12s"`, `"0.5s"` or `"1h2m3.5s"` into milliseconds. */
export function parseGoogleDuration(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  let total = 0;
  let matched = "";
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === "h" ? n * 3_600_000 : unit === "m" ? n * 60_000 : unit === "s" ? n * 1000 : n;
    matched += m[0];
  }
  return matched.length === text.length ? Math.round(total) : undefined;
}

/** Reads the `error` object out of a Google error body (JSON text or an already parsed value). */
function errorObject(body: unknown): GoogleErrorObject | undefined {
  let value = body;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  // Some front ends wrap the error in a one-element array.
  if (Array.isArray(value)) value = value[0];
  if (value && typeof value === "object" && "error" in value) {
    const inner = (value as { error: unknown }).error;
    if (inner && typeof inner === "object") return inner as GoogleErrorObject;
  }
  return undefined;
}

function trimMessage(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS)}...` : flat;
}

/**
 * Turns a failed Google response into an `UpstreamError`.
 * `status` is the HTTP status (or the `error.code` of an error chunk inside a 200 stream).
 */
export function classifyGoogleError(
  status: number,
  body: unknown,
  options: { now: number; provider?: string },
): UpstreamError {
  const provider = options.provider ?? "gemini";
  const err = errorObject(body);
  const googleStatus = err?.status ?? "";
  const rawMessage = err?.message ?? (typeof body === "string" ? body : "");
  const message = trimMessage(rawMessage) || `HTTP ${status}`;
  const details = Array.isArray(err?.details) ? err.details : [];
  const httpStatus = status || err?.code || 0;
  const make = (kind: FailureClass, text: string, extra: { retryAfterMs?: number; resetAt?: number } = {}) =>
    new UpstreamError(kind, `Gemini ${httpStatus}${googleStatus ? ` ${googleStatus}` : ""}: ${text}`, {
      provider,
      upstreamStatus: httpStatus,
      ...extra,
    });

  let retryDelayMs: number | undefined;
  const reasons: string[] = [];
  const quotaIds: string[] = [];
  let resetAt: number | undefined;
  for (const d of details) {
    const type = d["@type"] ?? "";
    if (type.endsWith("google.rpc.RetryInfo")) {
      retryDelayMs = parseGoogleDuration(d.retryDelay) ?? retryDelayMs;
    }
    if (type.endsWith("google.rpc.ErrorInfo")) {
      if (d.reason) reasons.push(d.reason);
      const meta = d.metadata ?? {};
      // Antigravity's quota errors carry the reset both as a timestamp and as a delay.
      const stamp = typeof meta.quotaResetTimeStamp === "string" ? Date.parse(meta.quotaResetTimeStamp) : NaN;
      if (Number.isFinite(stamp)) resetAt = stamp;
      const delay = parseGoogleDuration(meta.quotaResetDelay);
      if (resetAt === undefined && delay !== undefined) resetAt = options.now + delay;
      if (typeof meta.quota_limit === "string") quotaIds.push(meta.quota_limit);
    }
    if (type.endsWith("google.rpc.QuotaFailure")) {
      for (const v of d.violations ?? []) if (v.quotaId) quotaIds.push(v.quotaId);
    }
  }
  if (retryDelayMs === undefined) {
    const hint = /retry in (\d+(?:\.\d+)?)\s*s/i.exec(rawMessage);
    if (hint) retryDelayMs = Math.round(Number(hint[1]) * 1000);
  }

  if (httpStatus === 429 || googleStatus === "RESOURCE_EXHAUSTED") {
    const daily = quotaIds.some((q) => /PerDay|Daily/i.test(q));
    const exhausted = reasons.includes("QUOTA_EXHAUSTED") ||
      reasons.includes("INSUFFICIENT_G1_CREDITS_BALANCE") ||
      /exhausted your capacity|quota (?:has been )?exhausted/i.test(rawMessage);
    const longDelay = retryDelayMs !== undefined && retryDelayMs > MAX_THROTTLE_MS;
    if (daily || exhausted || longDelay) {
      const at = resetAt ??
        (retryDelayMs !== undefined ? options.now + retryDelayMs : options.now + DEFAULT_QUOTA_RESET_MS);
      return make("quota_exhausted", message, { resetAt: at });
    }
    const perMinute = quotaIds.some((q) => /PerMinute/i.test(q));
    const retryAfterMs = retryDelayMs ?? (perMinute ? 60_000 : DEFAULT_THROTTLE_MS);
    return make("throttled", message, { retryAfterMs });
  }
  if (httpStatus === 401 || googleStatus === "UNAUTHENTICATED") return make("auth", message);
  if (httpStatus === 403 || googleStatus === "PERMISSION_DENIED") {
    // The account itself is blocked (needs a user to validate it, or was switched off): disable it.
    if (
      reasons.some((r) =>
        ["VALIDATION_REQUIRED", "ACCOUNT_DISABLED", "TOS_VIOLATION", "USER_DISABLED"].includes(r)
      ) ||
      /suspended|disabled|terms of service/i.test(rawMessage)
    ) {
      return make("suspended", message);
    }
    return make("auth", message);
  }
  if (httpStatus === 400 || googleStatus === "INVALID_ARGUMENT" || googleStatus === "FAILED_PRECONDITION") {
    if (
      /too long|exceeds the maximum number of tokens|context (?:window|length)|input token count/i.test(
        rawMessage,
      )
    ) {
      return make("context_overflow", `prompt is too long: ${message}`);
    }
    return make("client", message);
  }
  if (httpStatus === 404 || httpStatus === 413 || googleStatus === "NOT_FOUND") {
    return make("client", message);
  }
  return make("transient", message, retryDelayMs !== undefined ? { retryAfterMs: retryDelayMs } : {});
}
