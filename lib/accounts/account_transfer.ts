/**
 * Account import and export formats, pure.
 *
 * Import accepts: this server's JSON export (`{version:1, accounts:[...]}` or a bare array of account
 * objects), the KiroGate JSON list (`[{refreshToken, authType:"idc"|"social", clientId?, clientSecret?}]`),
 * and pipe-separated lines (11-field `type|label|clientId|clientSecret|
 * refreshToken|accessToken|project|api_endpoint|weight|rate_limit|other_json`, or the older 8-field form,
 * as older exports wrote them; see the README's migration section). Export writes JSON (a `|` inside a field can no longer corrupt a line) and leaves
 * secrets out unless asked; the KiroGate export is secret by nature and only produced when asked. A JSON
 * export says at its top whether it holds secrets, so a file found later on a disk or in a ticket warns
 * whoever opens it; import ignores those fields, so files from before they existed still import.
 *
 * Every imported row meets the limits of `POST /v2/accounts` (`accountInputProblems`): one that does not is
 * reported by its position and left out, never written.
 */
import { assertJsonDepth } from "../json_depth_guard.ts";
import type { Account, AccountType, NewAccount } from "../store/types.ts";
import { accountInputProblems, customAccountProblems } from "./account_input.ts";
import { SECRET_OTHER_KEYS } from "./account_view.ts";

export interface ImportResult {
  accounts: NewAccount[];
  errors: string[];
}

const TYPES = new Set(["amazonq", "gemini", "custom_api"]);

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function inRange(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** `other` without secret-looking keys, at any depth (for exports without secrets). */
function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (!SECRET_OTHER_KEYS.test(key)) out[key] = withoutSecrets(inner);
    }
    return out;
  }
  return value;
}

function fromObject(item: Record<string, unknown>, where: string, errors: string[]): NewAccount | null {
  // KiroGate entries carry an authType and no type.
  if (typeof item.authType === "string" && item.type === undefined) {
    const refreshToken = text(item.refreshToken);
    if (!refreshToken) {
      errors.push(`${where}: refreshToken is required`);
      return null;
    }
    const social = item.authType === "social" || !(text(item.clientId) && text(item.clientSecret));
    return {
      type: "amazonq",
      label: text(item.label) ?? `kirogate-${refreshToken.slice(-6)}`,
      clientId: social ? null : text(item.clientId),
      clientSecret: social ? null : text(item.clientSecret),
      refreshToken,
      other: { authType: social ? "social" : "idc" },
    };
  }
  const type = (item.type ?? "amazonq") as string;
  if (!TYPES.has(type)) {
    errors.push(`${where}: unknown type "${String(item.type)}"`);
    return null;
  }
  const other = item.other && typeof item.other === "object" && !Array.isArray(item.other)
    ? item.other as Record<string, unknown>
    : {};
  const account: NewAccount = {
    type: type as AccountType,
    label: text(item.label),
    clientId: text(item.clientId),
    clientSecret: text(item.clientSecret),
    refreshToken: text(item.refreshToken),
    accessToken: text(item.accessToken),
    other,
    enabled: item.enabled !== false,
  };
  if (item.weight !== undefined && item.weight !== null) {
    if (!inRange(item.weight, 1, 1000)) {
      errors.push(`${where}: weight must be an integer between 1 and 1000`);
      return null;
    }
    account.weight = item.weight as number;
  }
  if (item.rate_limit_per_hour !== undefined && item.rate_limit_per_hour !== null) {
    if (!inRange(item.rate_limit_per_hour, 0, 1_000_000)) {
      errors.push(`${where}: rate_limit_per_hour must be an integer between 0 and 1000000`);
      return null;
    }
    account.rate_limit_per_hour = item.rate_limit_per_hour as number;
  }
  if (item.max_inflight !== undefined && item.max_inflight !== null) {
    if (!inRange(item.max_inflight, 0, 10_000)) {
      errors.push(`${where}: max_inflight must be an integer between 0 and 10000`);
      return null;
    }
    account.max_inflight = item.max_inflight as number;
  }
  return account;
}

function fromLine(line: string, where: string, errors: string[]): NewAccount | null {
  const f = line.split("|").map((s) => s.trim());
  if (f.length < 6) {
    errors.push(`${where}: expected at least 6 |-separated fields, got ${f.length}`);
    return null;
  }
  const type = f[0] || "amazonq";
  if (!TYPES.has(type)) {
    errors.push(`${where}: unknown type "${type}"`);
    return null;
  }
  const other: Record<string, unknown> = {};
  if (f[6]) other.project = f[6];
  if (f[7]) other.api_endpoint = f[7];
  let weight = 50;
  let rate = 0;
  if (f.length >= 11) {
    // Empty or non-numeric fields fall back to the defaults; numbers out of range are refused, as
    // the create route refuses them (a negative weight would break weighted selection).
    weight = Number.parseInt(f[8]!, 10) || 50;
    rate = Number.parseInt(f[9]!, 10) || 0;
    if (!inRange(weight, 1, 1000) || !inRange(rate, 0, 1_000_000)) {
      errors.push(`${where}: weight must be 1..1000 and rate_limit 0..1000000`);
      return null;
    }
    const json = f.slice(10).join("|");
    if (json) {
      try {
        assertJsonDepth(json);
        Object.assign(other, JSON.parse(json));
      } catch {
        errors.push(`${where}: other_json is not valid JSON (imported without it)`);
      }
    }
  }
  return {
    type: type as AccountType,
    label: f[1] || null,
    clientId: f[2] || null,
    clientSecret: f[3] || null,
    refreshToken: f[4] || null,
    accessToken: f[5] || null,
    other,
    weight,
    rate_limit_per_hour: rate,
  };
}

/** The row if it meets the limits of the create route; otherwise its problems are reported. */
function checked(account: NewAccount | null, where: string, errors: string[]): NewAccount | null {
  if (!account) return null;
  const problems = [
    ...accountInputProblems(account),
    ...(account.type === "custom_api"
      ? customAccountProblems(account.other ?? {}, account.clientSecret)
      : []),
  ];
  if (problems.length === 0) return account;
  errors.push(`${where}: ${problems.join("; ")}`);
  return null;
}

/** Parses any supported import format. */
export function parseAccountImport(data: unknown): ImportResult {
  const errors: string[] = [];
  const accounts: NewAccount[] = [];
  let value = data;
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
      try {
        assertJsonDepth(trimmed);
        value = JSON.parse(trimmed);
      } catch {
        return { accounts, errors: ["data: looks like JSON but does not parse"] };
      }
    } else {
      // Split the untrimmed text so reported line numbers match what the operator pasted.
      value.split(/\r?\n/).forEach((line, i) => {
        if (line.trim() === "" || line.trim().startsWith("#")) return;
        const account = checked(fromLine(line, `line ${i + 1}`, errors), `line ${i + 1}`, errors);
        if (account) accounts.push(account);
      });
      return { accounts, errors };
    }
  }
  if (
    value && typeof value === "object" && !Array.isArray(value) &&
    Array.isArray((value as { accounts?: unknown }).accounts)
  ) {
    value = (value as { accounts: unknown[] }).accounts;
  }
  if (!Array.isArray(value)) return { accounts, errors: ["data: expected a list of accounts"] };
  value.forEach((item, i) => {
    if (!item || typeof item !== "object") {
      errors.push(`accounts.${i}: expected an object`);
      return;
    }
    const account = checked(
      fromObject(item as Record<string, unknown>, `accounts.${i}`, errors),
      `accounts.${i}`,
      errors,
    );
    if (account) accounts.push(account);
  });
  return { accounts, errors };
}

/** This server's JSON export; secrets only with `includeSecrets`. */
export function exportAccounts(
  accounts: readonly Account[],
  includeSecrets: boolean,
): Record<string, unknown> {
  return {
    version: 1,
    contains_secrets: includeSecrets,
    ...(includeSecrets
      ? {
        warning: "This file contains account secrets (tokens, client secrets, API keys) in clear text. " +
          "Store it like a password and delete it once imported.",
      }
      : {}),
    accounts: accounts.map((a) => {
      const out: Record<string, unknown> = {
        type: a.type,
        label: a.label,
        clientId: a.clientId,
        other: includeSecrets ? a.other : withoutSecrets(a.other),
        enabled: a.enabled,
        weight: a.weight,
        rate_limit_per_hour: a.rate_limit_per_hour,
        max_inflight: a.max_inflight,
      };
      if (includeSecrets) {
        out.clientSecret = a.clientSecret;
        out.refreshToken = a.refreshToken;
        out.accessToken = a.accessToken;
      }
      return out;
    }),
  };
}

/** The KiroGate token list (Amazon Q accounts with a refresh token). */
export function exportKiroGate(accounts: readonly Account[]): Array<Record<string, string>> {
  return accounts
    .filter((a) => a.type === "amazonq" && a.refreshToken)
    .map((a): Record<string, string> =>
      a.clientId && a.clientSecret
        ? {
          refreshToken: a.refreshToken!,
          authType: "idc",
          clientId: a.clientId,
          clientSecret: a.clientSecret,
        }
        : { refreshToken: a.refreshToken!, authType: "social" }
    );
}
