/**
 * How an account is shown by the admin API: every field of the account object, with secrets masked
 * (a list API must never hand out credentials), plus the lifecycle state.
 * The upstream proxy (`other.proxy`) is shown as `proxy_set` and `proxy` without its credentials.
 */
import type { Account } from "../store/types.ts";
import { proxySetting } from "../upstream/proxy_setting.ts";

const SECRET_FIELDS = ["clientSecret", "refreshToken", "accessToken"] as const;
/** Keys of `other` whose values are treated as secrets (also left out of exports without secrets). */
export const SECRET_OTHER_KEYS = /token|secret|password|api[_-]?key|^proxy$/i;

/** `abcd…wxyz` for long secrets, `****` for short ones, null when absent. */
export function maskSecret(value: string | null): string | null {
  if (value === null || value === "") return null;
  return value.length >= 16 ? `${value.slice(0, 4)}…${value.slice(-4)}` : "****";
}

/**
 * Masks the strings of `other` that sit under a secret-looking key at any depth: `other` is free-form, and
 * a nested `{"tokens": {"access": "..."}}` must not leak because only the outer key looks secret.
 */
function maskOther(value: unknown, secret: boolean): unknown {
  if (typeof value === "string") return secret ? maskSecret(value) : value;
  if (Array.isArray(value)) return value.map((item) => maskOther(item, secret));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = maskOther(inner, secret || SECRET_OTHER_KEYS.test(key));
    }
    return out;
  }
  return value;
}

/**
 * The proxy without its credentials: whether one is set, and its scheme, host and port (`direct` as is), so
 * an operator can tell which exit an account uses without the API handing out the proxy's password.
 */
function proxyView(proxy: unknown): { proxy_set: boolean; proxy: string | null } {
  if (proxy === undefined || proxy === null || proxy === "") return { proxy_set: false, proxy: null };
  const setting = proxySetting(proxy);
  if ("problem" in setting) return { proxy_set: true, proxy: "(invalid)" };
  return { proxy_set: true, proxy: setting.kind === "direct" ? "direct" : setting.url };
}

export function accountView(account: Account, now: number): Record<string, unknown> {
  const { proxy, ...rest } = account.other;
  const other = maskOther(rest, false) as Record<string, unknown>;
  const view: Record<string, unknown> = { ...account, other, ...proxyView(proxy) };
  for (const field of SECRET_FIELDS) view[field] = maskSecret(account[field]);
  // The Amazon Q allowance (stored by the allowance job) at the top level, for the console's column.
  view.allowance = account.other.allowance ?? null;
  view.status = !account.enabled
    ? "disabled"
    : account.cooldown_until !== null && account.cooldown_until > now
    ? "cooldown"
    : account.parked_until !== null && account.parked_until > now
    ? "parked"
    : "active";
  return view;
}
