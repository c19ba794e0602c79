/**
 * Validation of account bodies for `POST /v2/accounts` and `PATCH /v2/accounts/{id}` (reference field names,
 * `platform.md` §1.3), with the checks the reference lacked: known types, weight and limits in range, and
 * for custom API accounts an http(s) `other.api_base` and a known `other.format`.
 */
import { z } from "zod";

const otherSchema = z.record(z.string(), z.unknown());
const optionalSecret = z.string().max(20_000).nullish();

export const newAccountSchema = z.looseObject({
  label: z.string().max(200).nullish(),
  type: z.enum(["amazonq", "gemini", "custom_api"]).default("amazonq"),
  clientId: z.string().max(2000).nullish(),
  clientSecret: optionalSecret,
  refreshToken: optionalSecret,
  accessToken: optionalSecret,
  other: otherSchema.nullish(),
  enabled: z.boolean().optional(),
  weight: z.number().int().min(1).max(1000).optional(),
  rate_limit_per_hour: z.number().int().min(0).max(1_000_000).optional(),
  max_inflight: z.number().int().min(0).max(10_000).optional(),
});

export const accountPatchSchema = z.strictObject({
  label: z.string().max(200).nullable().optional(),
  clientId: z.string().max(2000).nullable().optional(),
  clientSecret: optionalSecret,
  refreshToken: optionalSecret,
  accessToken: optionalSecret,
  /** Merged into the stored `other` (a key set to null is removed), never a stale whole-object overwrite. */
  other: otherSchema.optional(),
  enabled: z.boolean().optional(),
  weight: z.number().int().min(1).max(1000).optional(),
  rate_limit_per_hour: z.number().int().min(0).max(1_000_000).optional(),
  max_inflight: z.number().int().min(0).max(10_000).optional(),
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
    try {
      const url = new URL(base);
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        problems.push("other.api_base: must be an http(s) URL");
      }
    } catch {
      problems.push("other.api_base: must be an http(s) URL");
    }
  }
  if (other.format !== undefined && other.format !== "openai" && other.format !== "claude") {
    problems.push('other.format: must be "openai" or "claude"');
  }
  if (!clientSecret) problems.push("clientSecret: the upstream API key is required for custom_api accounts");
  return problems;
}
