/**
 * Seeds the Amazon Q account given by `AMAZONQ_*` variables (the single-account mode of older setups) into
 * the store at start, idempotently: the account is recognised by its `other.source = "env"` marker and its
 * credentials are updated in place when the variables change, never duplicated.
 */
import type { Config } from "../config.ts";
import type { Store } from "../store/types.ts";

export async function seedEnvAccount(
  config: Config,
  store: Store,
): Promise<"none" | "created" | "updated" | "unchanged"> {
  const q = config.amazonq;
  if (!q.refreshToken) return "none";
  const existing = (await store.accounts.list({ type: "amazonq" })).find((a) => a.other.source === "env");
  const seen = q.refreshToken.slice(-8);
  const other: Record<string, unknown> = {
    source: "env",
    authType: q.clientId && q.clientSecret ? "idc" : "social",
    env_refresh_token_seen: seen,
  };
  if (q.profileArn) other.profileArn = q.profileArn;
  if (!existing) {
    await store.accounts.create({
      type: "amazonq",
      label: "env: AMAZONQ_*",
      clientId: q.clientId ?? null,
      clientSecret: q.clientSecret ?? null,
      refreshToken: q.refreshToken,
      other,
    });
    return "created";
  }
  const sameClient = existing.clientId === (q.clientId ?? null) &&
    existing.clientSecret === (q.clientSecret ?? null) && existing.other.profileArn === other.profileArn;
  // Unchanged: the same variables as stored, or as at the last start (the stored refresh token was rotated
  // since then and is the newer one).
  if (
    sameClient && (existing.refreshToken === q.refreshToken || existing.other.env_refresh_token_seen === seen)
  ) {
    return "unchanged";
  }
  // The operator changed the variables: they win over what is stored.
  await store.accounts.update(existing.id, {
    clientId: q.clientId ?? null,
    clientSecret: q.clientSecret ?? null,
    refreshToken: q.refreshToken,
  });
  await store.accounts.patchOther(existing.id, other);
  return "updated";
}
