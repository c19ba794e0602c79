/**
 * `AlertSender`: posts alerts to the operator's webhooks, off the request path.
 *
 * `send` only puts the alert in a bounded queue and returns; one drain loop at a time posts each alert to
 * every URL, retrying a failed POST a few times with growing pauses, then gives up and logs it. Nothing here
 * throws into the caller, so a webhook that is down, slow or refusing never delays or fails a request. The
 * body is JSON with a Slack-compatible `text` plus the structured fields, so Slack, Mattermost, Discord's
 * Slack endpoint or a custom receiver can all take it.
 */
import type { Logger } from "../log.ts";
import type { Metrics } from "./metrics.ts";

export interface AlertPayload {
  /** Slack-compatible one-line summary. */
  text: string;
  /** `firing` when the condition starts, `resolved` when it clears. */
  status: "firing" | "resolved";
  /** Stable key of the condition (`account_disabled:<id>`, `no_usable_account:<model>` ...). */
  condition: string;
  kind: string;
  severity: "critical" | "warning";
  /** Epoch ms. */
  at: number;
  account_id?: string;
  channel?: string;
  model?: string;
  reason?: string;
  instance: string;
}

export interface AlertSenderOptions {
  urls: readonly string[];
  fetch?: typeof fetch;
  log: Logger;
  metrics?: Metrics;
  /** Retries after the first attempt. */
  retries?: number;
  /** Pause before the first retry; doubled each time. */
  backoffMs?: number;
  timeoutMs?: number;
  maxQueue?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class AlertSender {
  #o: AlertSenderOptions;
  #queue: AlertPayload[] = [];
  #draining: Promise<void> | null = null;
  /** An alert has left the queue and is being posted (or waits to be retried). */
  #posting = false;

  constructor(options: AlertSenderOptions) {
    this.#o = options;
  }

  get enabled(): boolean {
    return this.#o.urls.length > 0;
  }

  /** Queues an alert; never waits for delivery and never throws. */
  send(alert: AlertPayload): void {
    if (!this.enabled) return;
    if (this.#queue.length >= (this.#o.maxQueue ?? 100)) {
      this.#o.metrics?.alertDelivery("dropped");
      this.#o.log.warn("alert queue full, alert dropped", { condition: alert.condition });
      return;
    }
    this.#queue.push(alert);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  /** Resolves when the queue is empty (tests). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /**
   * Waits for the queued alerts (retries included) for at most `timeoutMs`, for a graceful shutdown; returns
   * how many were still undelivered then (the one being posted counts).
   */
  async drain(timeoutMs: number): Promise<number> {
    if (!this.#draining) return 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<true>((resolve) => timer = setTimeout(() => resolve(true), timeoutMs));
    const timedOut = await Promise.race([this.idle().then(() => false), late]);
    clearTimeout(timer);
    return timedOut ? this.#queue.length + (this.#posting ? 1 : 0) : 0;
  }

  async #drain(): Promise<void> {
    for (let alert = this.#queue.shift(); alert; alert = this.#queue.shift()) {
      this.#posting = true;
      for (const url of this.#o.urls) await this.#deliver(url, alert);
      this.#posting = false;
    }
  }

  async #deliver(url: string, alert: AlertPayload): Promise<void> {
    const fetchFn = this.#o.fetch ?? fetch;
    const sleep = this.#o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    const retries = this.#o.retries ?? 3;
    let pause = this.#o.backoffMs ?? 1000;
    let problem = "";
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        await sleep(pause);
        pause *= 2;
      }
      try {
        const response = await fetchFn(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
        });
        await response.body?.cancel();
        if (response.ok) {
          this.#o.metrics?.alertDelivery("sent");
          return;
        }
        problem = `HTTP ${response.status}`;
        // A 4xx other than rate limiting will not change on a retry.
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
    }
    this.#o.metrics?.alertDelivery("failed");
    // The URL may carry a secret in its path (Slack webhooks): only its origin is logged.
    this.#o.log.warn("alert delivery failed", {
      condition: alert.condition,
      webhook: new URL(url).origin,
      error: problem,
    });
  }
}
