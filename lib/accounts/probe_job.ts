/**
 * The scheduled health probe (run by `Deno.cron` in `main.ts`): re-tests accounts that are resting for
 * reasons that may pass, and puts those that answer back into service.
 *
 * Probed: accounts disabled automatically for a failure class that can clear by itself (`transient`,
 * `throttled`, `quota_exhausted`, `auth`), and enabled accounts whose parking has expired (the pool would
 * already pick them; the probe finds out first whether the quota is really back). Never probed: accounts
 * disabled as `suspended` or `invalid_grant` (an admin must act), and accounts an admin disabled (no
 * automatic reason): re-enabling those would undo a decision.
 *
 * The test is the same minimal request an admin's test sends: one forced `/v1/messages` call through the
 * gateway (`max_tokens: 1`, a cheap model the account serves), so it goes through the channel's real path
 * and its failure is recorded by the lifecycle like any other. An account that answers is re-enabled and its
 * parking cleared. A lease per account keeps two instances from probing the same account at once.
 */
import { normalizeClaudeRequest } from "../claude/normalize_request.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { RoutingState } from "../routing/routing_state.ts";
import type { Account, Store } from "../store/types.ts";
import type { MessageGateway } from "./message_gateway.ts";

export interface ProbeJobDeps {
  store: Store;
  gateway: MessageGateway;
  routing: RoutingState;
  log: Logger;
  now: () => number;
  holder: string;
  metrics?: Metrics;
  /** How long one probe may take. */
  timeoutMs?: number;
  /** At most this many accounts per run (a large pool is covered over several runs). */
  maxPerRun?: number;
}

export interface ProbeJobResult {
  probed: number;
  reenabled: string[];
  failed: string[];
  skipped: number;
}

/** Failure classes after which an automatically disabled account may work again. */
const PASSING_CLASSES = ["transient", "throttled", "quota_exhausted", "auth"];

/** True when the probe job may test the account. */
function probeable(account: Account, now: number): boolean {
  if (!account.enabled) {
    const kind = /^([a-z_]+):/.exec(account.disabled_reason ?? "")?.[1];
    return kind !== undefined && PASSING_CLASSES.includes(kind);
  }
  return account.parked_until !== null && account.parked_until <= now;
}

/** The cheapest model the account serves, by name. */
function probeModel(models: string[]): string | undefined {
  return models.find((m) => /haiku|flash|mini/i.test(m)) ?? models[0];
}

export async function runProbeJob(deps: ProbeJobDeps): Promise<ProbeJobResult> {
  const now = deps.now();
  const candidates = (await deps.store.accounts.list()).filter((a) => probeable(a, now))
    .slice(0, deps.maxPerRun ?? 20);
  const result: ProbeJobResult = { probed: 0, reenabled: [], failed: [], skipped: 0 };
  const router = await deps.routing.router();
  for (const account of candidates) {
    const model = probeModel(router.listModels([{ ...account, enabled: true }]).map((m) => m.id));
    const lease = `probe:${account.id}`;
    if (!model || !(await deps.store.leases.acquire(lease, deps.holder, deps.now(), 120_000))) {
      result.skipped++;
      deps.metrics?.probe("skipped");
      continue;
    }
    result.probed++;
    try {
      const ok = await probeOnce(deps, account, model);
      if (ok) {
        await deps.store.accounts.update(account.id, {
          enabled: true,
          disabled_reason: null,
          disabled_at: null,
          parked_until: null,
          cooldown_until: null,
          last_error: null,
        });
        result.reenabled.push(account.id);
      } else {
        result.failed.push(account.id);
      }
      deps.metrics?.probe(ok ? "reenabled" : "failed");
      deps.log.info("account probe", {
        accountId: account.id,
        model,
        outcome: ok ? "back in service" : "still failing",
        was: account.enabled ? "parked" : account.disabled_reason?.slice(0, 100),
      });
    } finally {
      await deps.store.leases.release(lease, deps.holder);
    }
  }
  return result;
}

/** One minimal request on the account; true when a complete answer came back. */
async function probeOnce(deps: ProbeJobDeps, account: Account, model: string): Promise<boolean> {
  const request = normalizeClaudeRequest({
    model,
    max_tokens: 1,
    stream: true,
    messages: [{ role: "user", content: "ping" }],
  });
  const signal = AbortSignal.timeout(deps.timeoutMs ?? 60_000);
  try {
    const result = await deps.gateway.open({
      request,
      requestId: `probe_${account.id}`,
      forcedAccountId: account.id,
      allowDisabled: true,
      clientHeaders: {},
      signal,
    });
    const reader = result.events.getReader();
    let stopped = false;
    // Bounded by the stream itself and the timeout signal the channel honours.
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === "message_stop") stopped = true;
    }
    return stopped;
  } catch {
    return false;
  }
}
