/**
 * `AlertMonitor`: decides which alert conditions hold and tells the webhooks when one starts or clears.
 *
 * Conditions: an account disabled as suspended or needing re-login (`invalid_grant`); an account whose token
 * refresh failed `ALERT_REFRESH_FAILURES` times in a row (counted by this instance from the token manager's
 * outcomes); a model that some account can serve but no usable one can serve now (every account for it
 * disabled, cooling down or parked). `evaluate()` (a `Deno.cron` job in `main.ts`) compares the conditions
 * with those it alerted for: a new one alerts once, one that cleared sends a "resolved" message once.
 *
 * Several instances see the same pool, so each condition is claimed with a lease in the store: only the
 * instance that takes `alert:<condition>` alerts, and it renews the lease while the condition holds. When the
 * condition clears, that instance sends "resolved" but keeps the lease until it expires by itself: another
 * instance whose cached view of the accounts is a little older still sees the condition, and must not take
 * the lease and alert again for it. A condition that really comes back within the lease is seen by the
 * holder too, which alerts again. If the holder stops, its lease expires and another instance takes over
 * (and alerts again, once). Sending is the `AlertSender`'s queue, never the caller's time.
 */
import type { AccountPool } from "../accounts/account_pool.ts";
import type { Logger } from "../log.ts";
import type { RoutingState } from "../routing/routing_state.ts";
import type { Account, Store } from "../store/types.ts";
import type { AlertPayload, AlertSender } from "./alert_sender.ts";

export interface AlertMonitorDeps {
  store: Store;
  pool: AccountPool;
  routing: RoutingState;
  sender: AlertSender;
  log: Logger;
  now: () => number;
  /** Identifies this instance for leases. */
  holder: string;
  /** Consecutive refresh failures that make an alert. */
  refreshFailures: number;
  /** How long a claimed condition stays claimed without renewal (longer than the evaluation period). */
  leaseMs?: number;
}

type Condition = Omit<AlertPayload, "status" | "at" | "instance">;

/** Longest lease name the stores keep. */
const MAX_LEASE_NAME = 255;

export class AlertMonitor {
  #d: AlertMonitorDeps;
  /** Conditions this instance alerted for and holds the lease of. */
  #firing = new Map<string, Condition>();
  #refreshFailures = new Map<string, number>();
  #running: Promise<void> | null = null;

  constructor(deps: AlertMonitorDeps) {
    this.#d = deps;
  }

  /** Counts a token refresh outcome (called on the refresh path: constant time, no I/O). */
  refreshOutcome(account: Pick<Account, "id">, outcome: "success" | "invalid_grant" | "failed"): void {
    if (outcome === "failed") {
      this.#refreshFailures.set(account.id, (this.#refreshFailures.get(account.id) ?? 0) + 1);
    } else {
      this.#refreshFailures.delete(account.id);
    }
  }

  /** Waits up to `timeoutMs` for the alerts already queued to be sent (shutdown); returns how many were not. */
  drain(timeoutMs: number): Promise<number> {
    return this.#d.sender.drain(timeoutMs);
  }

  /** Checks every condition once; overlapping calls share one run. */
  evaluate(): Promise<void> {
    if (!this.#d.sender.enabled) return Promise.resolve();
    this.#running ??= this.#evaluate().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #evaluate(): Promise<void> {
    const d = this.#d;
    const active = await this.#conditions();
    for (const [key, condition] of active) {
      // Taking the lease again renews it while the condition holds; only a new claim alerts.
      const claimed = await d.store.leases.acquire(leaseName(key), d.holder, d.now(), d.leaseMs ?? 600_000);
      if (!claimed || this.#firing.has(key)) continue;
      this.#firing.set(key, condition);
      this.#emit(condition, "firing");
    }
    for (const [key, condition] of this.#firing) {
      if (active.has(key)) continue;
      // The lease stays taken until it expires (see above): a staler instance cannot claim it meanwhile.
      this.#firing.delete(key);
      this.#emit(condition, "resolved");
    }
  }

  #emit(condition: Condition, status: "firing" | "resolved"): void {
    const text = status === "firing"
      ? `:rotating_light: ${condition.text}`
      : `:white_check_mark: resolved: ${condition.text}`;
    this.#d.log.info("alert", { condition: condition.condition, status });
    this.#d.sender.send({ ...condition, text, status, at: this.#d.now(), instance: this.#d.holder });
  }

  async #conditions(): Promise<Map<string, Condition>> {
    const d = this.#d;
    const out = new Map<string, Condition>();
    const accounts = await d.pool.accounts();
    for (const a of accounts) {
      const name = a.label ? `${a.label} (${a.id})` : a.id;
      const reason = a.disabled_reason ?? "";
      if (!a.enabled && /^(suspended|invalid_grant)\b/.test(reason)) {
        const kind = reason.startsWith("suspended") ? "account_suspended" : "account_needs_login";
        out.set(`${kind}:${a.id}`, {
          condition: `${kind}:${a.id}`,
          kind,
          severity: "critical",
          text: kind === "account_suspended"
            ? `${a.type} account ${name} was suspended by the upstream and is disabled`
            : `${a.type} account ${name} needs a new login (refresh token refused) and is disabled`,
          account_id: a.id,
          channel: a.type,
          reason: reason.slice(0, 200),
        });
      }
      const failures = this.#refreshFailures.get(a.id) ?? 0;
      if (a.enabled && failures >= d.refreshFailures) {
        out.set(`refresh_failing:${a.id}`, {
          condition: `refresh_failing:${a.id}`,
          kind: "refresh_failing",
          severity: "warning",
          text:
            `${a.type} account ${name}: token refresh failed ${failures} times in a row (${a.last_refresh_status})`,
          account_id: a.id,
          channel: a.type,
          reason: a.last_refresh_status,
        });
      }
    }
    // Models some account could serve, against those a usable account serves now.
    const router = await d.routing.router();
    const usable = new Set(router.listModels(await d.pool.usableAccounts()).map((m) => m.id));
    for (const { id: model, owned_by } of router.listModels(accounts)) {
      if (usable.has(model)) continue;
      out.set(`no_usable_account:${model}`, {
        condition: `no_usable_account:${model}`,
        kind: "no_usable_account",
        severity: "critical",
        text: `no usable account left for model ${model} (${owned_by}): requests for it fail`,
        model,
      });
    }
    return out;
  }
}

function leaseName(key: string): string {
  return `alert:${key}`.slice(0, MAX_LEASE_NAME);
}
