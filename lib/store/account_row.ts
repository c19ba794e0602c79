/**
 * The mapping between an `accounts` row and an `Account`, shared by the SQLite and MySQL stores so both
 * read the same columns the same way (defaults for rows written by older versions,
 * `other` parsed leniently so a damaged row is marked instead of failing every read, `enabled` as 0/1).
 *
 * No SQL runs here; it only knows column names.
 */
import { jsonDepth } from "./json_depth.ts";
import type { Account, AccountPatch, AccountType, NewAccount } from "./types.ts";

/** Columns an `AccountPatch` key writes. */
export const ACCOUNT_PATCH_COLUMNS: Record<keyof AccountPatch, string> = {
  label: "label",
  clientId: "clientId",
  clientSecret: "clientSecret",
  refreshToken: "refreshToken",
  accessToken: "accessToken",
  tokenExpiresAt: "token_expires_at",
  other: "other",
  enabled: "enabled",
  weight: "weight",
  rate_limit_per_hour: "rate_limit_per_hour",
  max_inflight: "max_inflight",
  disabled_reason: "disabled_reason",
  disabled_at: "disabled_at",
  cooldown_until: "cooldown_until",
  parked_until: "parked_until",
  last_error: "last_error",
  last_refresh_time: "last_refresh_time",
  last_refresh_status: "last_refresh_status",
};

/**
 * Deepest `other` passed on as read. Far above what any write accepts, so only a row damaged outside the
 * API hits it; beyond it, recursive code (masking, exports) could overflow the stack on every list.
 */
const READ_DEPTH_LIMIT = 64;

/** The key that marks an `other` that could not be read (the admin sees why, and can overwrite it). */
export const UNREADABLE_OTHER = "unreadable_other";

/**
 * `other` as stored: a JSON object; NULL or empty as `{}`; anything else (invalid JSON left by an older version, a
 * non-object, a value nested absurdly deep) as `{unreadable_other: <why>}`, so one damaged row never breaks
 * a list or an export.
 */
export function parseOther(raw: unknown): Record<string, unknown> {
  if (raw === null || raw === undefined || raw === "") return {};
  if (raw instanceof Uint8Array) return parseOther(new TextDecoder().decode(raw));
  if (typeof raw !== "string") return { [UNREADABLE_OTHER]: "not JSON text" };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { [UNREADABLE_OTHER]: "not valid JSON" };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { [UNREADABLE_OTHER]: "not a JSON object" };
  }
  if (jsonDepth(value, READ_DEPTH_LIMIT) > READ_DEPTH_LIMIT) {
    return { [UNREADABLE_OTHER]: `nested deeper than ${READ_DEPTH_LIMIT} levels` };
  }
  return value as Record<string, unknown>;
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function str(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** A patch value as a column value (`other` as JSON, `enabled` as 0/1). */
export function accountPatchValue(key: keyof AccountPatch, value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (key === "other") return JSON.stringify(value);
  if (key === "enabled") return value ? 1 : 0;
  return value as string | number;
}

export function rowToAccount(row: Record<string, unknown>): Account {
  return {
    id: String(row.id),
    label: str(row.label),
    type: (str(row.type) ?? "amazonq") as AccountType,
    clientId: str(row.clientId),
    clientSecret: str(row.clientSecret),
    refreshToken: str(row.refreshToken),
    accessToken: str(row.accessToken),
    tokenExpiresAt: num(row.token_expires_at),
    other: parseOther(row.other),
    enabled: Number(row.enabled ?? 1) === 1,
    weight: Number(row.weight ?? 50),
    rate_limit_per_hour: Number(row.rate_limit_per_hour ?? 20),
    max_inflight: Number(row.max_inflight ?? 0),
    disabled_reason: str(row.disabled_reason),
    disabled_at: num(row.disabled_at),
    cooldown_until: num(row.cooldown_until),
    parked_until: num(row.parked_until),
    last_error: str(row.last_error),
    last_used_at: num(row.last_used_at),
    last_refresh_time: str(row.last_refresh_time),
    last_refresh_status: str(row.last_refresh_status) ?? "never",
    created_at: str(row.created_at) ?? "",
    updated_at: str(row.updated_at) ?? "",
  };
}

/** Columns of a new account row, in the order of `newAccountValues`. */
export const NEW_ACCOUNT_COLUMNS = [
  "id",
  "label",
  "clientId",
  "clientSecret",
  "refreshToken",
  "accessToken",
  "token_expires_at",
  "other",
  "enabled",
  "type",
  "weight",
  "rate_limit_per_hour",
  "max_inflight",
  "last_refresh_status",
  "created_at",
  "updated_at",
] as const;

/** The values of a new account row, with this server's defaults (weight 50, no hourly limit, no cap). */
export function newAccountValues(id: string, input: NewAccount, at: string): Array<string | number | null> {
  return [
    id,
    input.label ?? null,
    input.clientId ?? null,
    input.clientSecret ?? null,
    input.refreshToken ?? null,
    input.accessToken ?? null,
    input.tokenExpiresAt ?? null,
    JSON.stringify(input.other ?? {}),
    input.enabled === false ? 0 : 1,
    input.type,
    input.weight ?? 50,
    input.rate_limit_per_hour ?? 0,
    input.max_inflight ?? 0,
    "never",
    at,
    at,
  ];
}
