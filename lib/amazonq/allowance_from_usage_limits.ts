/**
 * `allowanceFromUsageLimits`: reads an Amazon Q / Kiro `GetUsageLimits` answer into the account's allowance
 * (`limit`, `used`, `remaining`, `resets_at`), the figures the admin API shows and the allowance job parks on.
 *
 * The answer's shape, as the open-source Kiro gateway kiro.rs models it (`src/kiro/model/usage_limits.rs`
 * in hank9999/kiro.rs): `usageBreakdownList` holds one entry per metered resource with `usageLimit` and
 * `currentUsage` (and `...WithPrecision` twins that keep fractions of credits), an optional `freeTrialInfo`
 * and `bonuses` whose amounts count only while active, and `nextDateReset`; the top level repeats
 * `nextDateReset` and adds `daysUntilReset`, `subscriptionInfo` and `userInfo`. Clients have seen
 * `nextDateReset` both as epoch seconds and as an ISO date, so both are read. The first entry is the one
 * requests draw from (an agentic request / credit); the sum of base, active trial and active bonuses is the
 * allowance, as the upstream's own client adds them up.
 *
 * Pure: no fetch, no clock (the caller passes `now` for the trial and bonus expiry checks).
 */

export interface Allowance {
  /** Total requests or credits this period (base + active free trial + active bonuses). */
  limit: number;
  used: number;
  remaining: number;
  /** When the allowance resets (ISO 8601), if the upstream said. */
  resets_at: string | null;
  /** What is metered (`AGENTIC_REQUEST`, `CREDIT`, ...), if said. */
  resource_type: string | null;
  /** The plan's name (`KIRO FREE`, `Q Developer Pro` ...), if said. */
  subscription: string | null;
}

type Json = Record<string, unknown>;

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** The precise figure when present, the whole one otherwise. */
function amount(entry: Json, name: "usageLimit" | "currentUsage"): number {
  const precise = entry[`${name}WithPrecision`];
  return typeof precise === "number" && Number.isFinite(precise) ? precise : num(entry[name]);
}

/** Epoch seconds, epoch ms or an ISO date, as epoch ms; null when absent or unreadable. */
function time(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) {
    return value < 1e12 ? Math.round(value * 1000) : Math.round(value);
  }
  if (typeof value === "string" && value.trim() !== "") {
    const asNumber = Number(value);
    if (Number.isFinite(asNumber)) return time(asNumber);
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A free trial or bonus counts while its status says active (or, without a status, until it expires). */
function active(extra: Json, expiryKey: string, now: number): boolean {
  const status = extra.freeTrialStatus ?? extra.status;
  if (typeof status === "string") return status.toUpperCase() === "ACTIVE";
  const expiry = time(extra[expiryKey]);
  if (expiry !== null) return expiry > now;
  return amount(extra, "usageLimit") > 0;
}

/** The allowance, or null when the answer holds no usage breakdown (nothing to judge by). */
export function allowanceFromUsageLimits(answer: unknown, now: number): Allowance | null {
  if (!isObject(answer)) return null;
  const list = answer.usageBreakdownList;
  if (!Array.isArray(list) || !isObject(list[0])) return null;
  const entry = list[0];
  let limit = amount(entry, "usageLimit");
  let used = amount(entry, "currentUsage");
  const trial = entry.freeTrialInfo;
  if (isObject(trial) && active(trial, "freeTrialExpiry", now)) {
    limit += amount(trial, "usageLimit");
    used += amount(trial, "currentUsage");
  }
  if (Array.isArray(entry.bonuses)) {
    for (const bonus of entry.bonuses) {
      if (!isObject(bonus) || !active(bonus, "expiresAt", now)) continue;
      limit += amount(bonus, "usageLimit");
      used += amount(bonus, "currentUsage");
    }
  }
  let resets = time(entry.nextDateReset) ?? time(answer.nextDateReset);
  if (resets === null && typeof answer.daysUntilReset === "number" && answer.daysUntilReset >= 0) {
    resets = now + answer.daysUntilReset * 86_400_000;
  }
  const subscription = isObject(answer.subscriptionInfo) ? answer.subscriptionInfo.subscriptionTitle : null;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    limit: round(limit),
    used: round(used),
    remaining: round(Math.max(0, limit - used)),
    resets_at: resets === null ? null : new Date(resets).toISOString(),
    resource_type: typeof entry.resourceType === "string" ? entry.resourceType : null,
    subscription: typeof subscription === "string" ? subscription : null,
  };
}
