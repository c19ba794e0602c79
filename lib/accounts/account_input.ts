/**
 * Validation of account input (established field names): the body schemas of `POST /v2/accounts` and
 * `PATCH /v2/accounts/{id}`, and `accountInputProblems`, the one set of limits every way an account is
 * written goes through (create, update, import, Gemini donations, Amazon Q device login). Checks: known types, weight and limits in range, bounded string lengths, no NUL bytes (the
 * store would read them back truncated), an `other` of bounded depth and size (a deeply nested one broke
 * every later list and export), http(s) upstream URLs without credentials, and for custom API accounts an
 * `other.api_base` and a known `other.format`; an upstream proxy (`proxy`, kept as `other.proxy`) must be an
 * http(s) or socks5 URL or `direct`.
 */
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { jsonDepth } from "../store/json_depth.ts";
import { proxySetting } from "../upstream/proxy_setting.ts";
import { upstreamUrlProblem } from "./upstream_url_problem.ts";

/** Limits shared by every write of an account. */
export const ACCOUNT_LIMITS = {
  label: 200,
  clientId: 2000,
  secret: 20_000,
  /** Nesting of `other` (the object itself is level 1). */
  otherDepth: 8,
  /** Bytes of `other` as JSON. */
  otherBytes: 16 * 1024,
} as const;

const otherSchema = z.record(z.string(), z.unknown());
const optionalSecret = z.string().max(ACCOUNT_LIMITS.secret).nullish();

export const newAccountSchema = z.looseObject({
  label: z.string().max(ACCOUNT_LIMITS.label).nullish(),
  type: z.enum(["amazonq", "gemini", "custom_api"]).default("amazonq"),
  clientId: z.string().max(ACCOUNT_LIMITS.clientId).nullish(),
  clientSecret: optionalSecret,
  refreshToken: optionalSecret,
  accessToken: optionalSecret,
  other: otherSchema.nullish(),
  enabled: z.boolean().optional(),
  weight: z.number().int().min(1).max(1000).optional(),
  rate_limit_per_hour: z.number().int().min(0).max(1_000_000).optional(),
  max_inflight: z.number().int().min(0).max(10_000).optional(),
  /** The upstream proxy URL or `direct`; stored as the secret `other.proxy`. */
  proxy: z.string().max(2048).nullish(),
});

export const accountPatchSchema = z.strictObject({
  label: z.string().max(ACCOUNT_LIMITS.label).nullable().optional(),
  clientId: z.string().max(ACCOUNT_LIMITS.clientId).nullable().optional(),
  clientSecret: optionalSecret,
  refreshToken: optionalSecret,
  accessToken: optionalSecret,
  /** Merged into the stored `other` (a key set to null is removed), never a stale whole-object overwrite. */
  other: otherSchema.optional(),
  enabled: z.boolean().optional(),
  weight: z.number().int().min(1).max(1000).optional(),
  rate_limit_per_hour: z.number().int().min(0).max(1_000_000).optional(),
  max_inflight: z.number().int().min(0).max(10_000).optional(),
  /** The upstream proxy URL or `direct` (null: back to the global default). */
  proxy: z.string().max(2048).nullable().optional(),
  /** Clears a cooldown or parking by hand. */
  clear_cooldown: z.boolean().optional(),
});

/** Problems with a custom account's `other`, as `field: message` strings. */
export function customAccountProblems(
  other: Record<string, unknown>,
  clientSecret: string | null | undefined,
): string[] {
  const problems: string[] = [];
  const base = other.api_base;
  if (typeof base !== "string" || base.trim() === "") {
    problems.push("other.api_base: required for custom_api accounts");
  } else {
    const problem = upstreamUrlProblem(base);
    if (problem) problems.push(`other.api_base: ${problem}`);
  }
  if (other.format !== undefined && other.format !== "openai" && other.format !== "claude") {
    problems.push('other.format: must be "openai" or "claude"');
  }
  if (!clientSecret) problems.push("clientSecret: the upstream API key is required for custom_api accounts");
  return problems;
}

/** The fields of an account write that `accountInputProblems` checks (a new account or a patch). */
export interface AccountInputFields {
  label?: string | null;
  clientId?: string | null;
  clientSecret?: string | null;
  refreshToken?: string | null;
  accessToken?: string | null;
  /** A whole `other`, or a patch of it (a null value removes a key). */
  other?: Record<string, unknown> | null;
}

const STRING_LIMITS = [
  ["label", ACCOUNT_LIMITS.label],
  ["clientId", ACCOUNT_LIMITS.clientId],
  ["clientSecret", ACCOUNT_LIMITS.secret],
  ["refreshToken", ACCOUNT_LIMITS.secret],
  ["accessToken", ACCOUNT_LIMITS.secret],
] as const;

/**
 * Problems with an account write, as `field: message` strings (empty when it may be stored): the same
 * limits whether it comes from the API, an import or an onboarding flow.
 */
export function accountInputProblems(input: AccountInputFields): string[] {
  const problems: string[] = [];
  for (const [field, max] of STRING_LIMITS) {
    const value = input[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") problems.push(`${field}: must be a string`);
    else if (value.length > max) problems.push(`${field}: must be at most ${max} characters long`);
    else if (value.includes("\0")) problems.push(`${field}: must not contain NUL bytes`);
  }
  const other = input.other;
  if (other === undefined || other === null) return problems;
  if (typeof other !== "object" || Array.isArray(other)) {
    problems.push("other: must be a JSON object");
    return problems;
  }
  if (jsonDepth(other, ACCOUNT_LIMITS.otherDepth) > ACCOUNT_LIMITS.otherDepth) {
    problems.push(`other: must not nest deeper than ${ACCOUNT_LIMITS.otherDepth} levels`);
    return problems;
  }
  const bytes = new TextEncoder().encode(JSON.stringify(other)).length;
  if (bytes > ACCOUNT_LIMITS.otherBytes) {
    problems.push(`other: must be at most ${ACCOUNT_LIMITS.otherBytes} bytes as JSON, got ${bytes}`);
  }
  const nul = nulPath(other);
  if (nul !== null) problems.push(`${nul}: must not contain NUL bytes`);
  if (other.proxy !== undefined && other.proxy !== null) {
    const setting = proxySetting(other.proxy);
    if ("problem" in setting) problems.push(`proxy: ${setting.problem}`);
  }
  for (const key of ["api_base", "api_endpoint"]) {
    const value = other[key];
    if (value === undefined || value === null) continue;
    const problem = upstreamUrlProblem(value);
    if (problem) problems.push(`other.${key}: ${problem}`);
  }
  return problems;
}

/** Throws a 400 naming every problem of an account write (see `accountInputProblems`). */
export function assertAccountInput(input: AccountInputFields, extra: string[] = []): void {
  const problems = [...accountInputProblems(input), ...extra];
  if (problems.length > 0) throw new ApiError("invalid_request_error", problems.join("; "));
}

/** The path of the first key or string in `other` holding a NUL byte, or null (depth is already bounded). */
function nulPath(other: Record<string, unknown>): string | null {
  const pending: Array<[unknown, string]> = [[other, "other"]];
  while (pending.length > 0) {
    const [value, path] = pending.pop()!;
    if (typeof value === "string" && value.includes("\0")) return path;
    if (value === null || typeof value !== "object") continue;
    for (const [key, inner] of Object.entries(value)) {
      if (key.includes("\0")) return `${path}.${key.replaceAll("\0", "\\0")}`;
      pending.push([inner, `${path}.${key}`]);
    }
  }
  return null;
}
