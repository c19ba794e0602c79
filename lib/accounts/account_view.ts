/**
 * How an account is shown by the admin API: every field of the reference account object, with secrets
 * masked (`platform.md` weak spot 14: the reference returned them all in clear), plus the lifecycle state.
 */
import type { Account } from "../store/types.ts";

const SECRET_FIELDS = ["clientSecret", "refreshToken", "accessToken"] as const;
const SECRET_OTHER_KEYS = /token|secret|password|api[_-]?key/i;

/** `abcd…wxyz` for long secrets, `****` for short ones, null when absent. */
export function maskSecret(value: string | null): string | null {
  if (value === null || value === "") return null;
  return value.length >= 16 ? `${value.slice(0, 4)}…${value.slice(-4)}` : "****";
}

export function accountView(account: Account, now: number): Record<string, unknown> {
  const other: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(account.other)) {
    other[key] = SECRET_OTHER_KEYS.test(key) && typeof value === "string" ? maskSecret(value) : value;
  }
  const view: Record<string, unknown> = { ...account, other };
  for (const field of SECRET_FIELDS) view[field] = maskSecret(account[field]);
  view.status = !account.enabled
    ? "disabled"
    : account.cooldown_until !== null && account.cooldown_until > now
    ? "cooldown"
    : account.parked_until !== null && account.parked_until > now
    ? "parked"
    : "active";
  return view;
}
