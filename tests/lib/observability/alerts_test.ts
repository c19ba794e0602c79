/**
 * Alerts: a test webhook receives one JSON POST (Slack `text` plus structured fields) per condition when it
 * starts and one when it clears, whatever the number of evaluations or instances; a webhook that fails is
 * retried a bounded number of times and never delays or fails a request.
 */
import assert from "node:assert/strict";
import { AlertMonitor } from "../../../lib/observability/alert_monitor.ts";
import { AlertSender } from "../../../lib/observability/alert_sender.ts";
import { NullLogger } from "../../../lib/log.ts";
import { makeTestApp, type TestApp } from "../../_helpers/test_app.ts";
import { addCustom, answerText, ask, fakeOpenAI } from "../../_helpers/pool_helpers.ts";
import { Scrape } from "./_prometheus.ts";
import { webhook } from "./_webhook.ts";

function monitor(t: TestApp, sender: AlertSender, holder: string): AlertMonitor {
  return new AlertMonitor({
    store: t.store,
    pool: t.deps.pool,
    routing: t.deps.routing,
    sender,
    log: new NullLogger(),
    now: t.clock.now,
    holder,
    refreshFailures: 3,
  });
}

Deno.test("alerts: once per condition, resolved once, one instance alerting, failing webhook harmless", async () => {
  let open = () => {};
  const gate = new Promise<void>((resolve) => open = resolve);
  const good = webhook(200, gate);
  const failing = webhook(500);
  const fake = fakeOpenAI();
  const t = makeTestApp();
  const sender = new AlertSender({
    urls: [good.url, failing.url],
    log: new NullLogger(),
    metrics: t.deps.metrics,
    retries: 2,
    backoffMs: 1,
  });
  try {
    const a = await addCustom(t, fake, "a");
    const b = await addCustom(t, fake, "b");
    const c = await addCustom(t, fake, "c", {
      other: { api_base: `${fake.url}/v1`, format: "openai", model: "gpt-y" },
    });
    const first = monitor(t, sender, "instance-1");
    const second = monitor(t, sender, "instance-2");

    await t.store.accounts.update(a.id, { enabled: false, disabled_reason: "suspended: account suspended" });
    await first.evaluate();
    // The webhook is still holding the first POST: evaluation returned, and requests are served meanwhile.
    assert.equal(good.hits, 0);
    assert.match(await answerText(await ask(t, "hi", { model: "gpt-y" })), /^ok:/);
    await first.evaluate();
    await second.evaluate();

    await t.store.accounts.update(b.id, { enabled: false, disabled_reason: "invalid_grant: token revoked" });
    for (let i = 0; i < 3; i++) first.refreshOutcome(c, "failed");
    await second.evaluate(); // the second instance claims what is new now
    await first.evaluate(); // and the first one stays quiet about it
    await first.evaluate();

    // Recovery: b logs in again; c's refresh works again.
    await t.store.accounts.update(b.id, { enabled: true, disabled_reason: null });
    second.refreshOutcome(c, "success");
    first.refreshOutcome(c, "success");
    await first.evaluate();
    await second.evaluate();
    await second.evaluate();

    open();
    await sender.idle();
    const seen = good.bodies.map((body) => `${body.status} ${body.condition}`).sort();
    assert.deepEqual(
      seen,
      [
        `firing account_needs_login:${b.id}`,
        `firing account_suspended:${a.id}`,
        "firing no_usable_account:gpt-x",
        `firing refresh_failing:${c.id}`,
        `resolved account_needs_login:${b.id}`,
        "resolved no_usable_account:gpt-x",
        `resolved refresh_failing:${c.id}`,
      ].sort(),
    );
    const suspendedAlert = good.bodies.find((body) => body.condition === `account_suspended:${a.id}`)!;
    assert.match(String(suspendedAlert.text), /suspended/);
    assert.equal(suspendedAlert.kind, "account_suspended");
    assert.equal(suspendedAlert.account_id, a.id);
    assert.equal(suspendedAlert.channel, "custom_api");
    assert.equal(suspendedAlert.severity, "critical");
    const modelAlert = good.bodies.find((body) => body.condition === "no_usable_account:gpt-x")!;
    assert.equal(modelAlert.model, "gpt-x");

    // Every alert tried the failing webhook three times (one try and two retries), then gave up.
    assert.equal(failing.hits, 7 * 3);
    const m = new Scrape(await t.deps.metrics.exposition());
    assert.equal(m.value("amq2api_alert_deliveries_total", { outcome: "sent" }), 7);
    assert.equal(m.value("amq2api_alert_deliveries_total", { outcome: "failed" }), 7);
  } finally {
    open();
    await sender.idle();
    await t.close();
    await fake.close();
    await good.close();
    await failing.close();
  }
});

Deno.test("alerts: without ALERT_WEBHOOK_URL nothing is evaluated or sent", async () => {
  const t = makeTestApp();
  try {
    await t.store.accounts.create({ type: "custom_api", clientSecret: "k", enabled: false });
    await t.deps.alerts.evaluate();
    assert.equal(
      await t.store.leases.acquire("alert:no_usable_account:gpt-x", "x", t.clock.now(), 1000),
      true,
    );
  } finally {
    await t.close();
  }
});
