/**
 * Alerts with two instances on one database (a SQLite file, and MySQL when MYSQL_TEST_URL is set): both run
 * the real wiring (`ALERT_WEBHOOK_URL`, the monitor and sender `buildDeps` makes) and evaluate, sometimes at
 * the same moment, sometimes with one of them looking at a cached, older view of the accounts. The test
 * webhook receives exactly one alert when each condition starts and one when it clears; a second webhook
 * that refuses every POST changes nothing, and requests are served while alerts are being posted.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { join } from "node:path";
import { Clock, makeTestAppAsync, type TestApp } from "../../_helpers/test_app.ts";
import { addCustom, answerText, ask, fakeOpenAI } from "../../_helpers/pool_helpers.ts";
import type { Account } from "../../../lib/store/types.ts";
import { webhook } from "./_webhook.ts";

/** A write through this instance's own store: its account cache reloads at once (the other's does not). */
async function look(t: TestApp, spare: Account): Promise<void> {
  await t.store.accounts.update(spare.id, { label: `spare-${crypto.randomUUID().slice(0, 6)}` });
  await t.deps.pool.accounts();
}

async function twoInstances(databaseUrl: string): Promise<void> {
  let open = () => {};
  const gate = new Promise<void>((resolve) => open = resolve);
  const good = webhook(200, gate);
  // A deleted Slack webhook answers 404: a refusal no retry will change.
  const gone = webhook(404);
  const fake = fakeOpenAI();
  const clock = new Clock();
  const env = {
    DATABASE_URL: databaseUrl,
    ALERT_WEBHOOK_URL: `${good.url},${gone.url}`,
    // Each instance sees the other's account writes only when it writes itself (`look`): deterministic views.
    CACHE_STALENESS_MS: "60000",
  };
  const a = await makeTestAppAsync({ env, clock });
  const b = await makeTestAppAsync({ env, clock }).catch(async (error) => {
    await a.close();
    throw error;
  });
  try {
    const x1 = await addCustom(a, fake, "x1");
    await addCustom(a, fake, "x2"); // keeps gpt-x served while x1 is suspended
    const y = await addCustom(a, fake, "y", {
      other: { api_base: `${fake.url}/v1`, format: "openai", model: "gpt-y" },
    });
    const spare = await addCustom(a, fake, "spare", {
      other: { api_base: `${fake.url}/v1`, format: "openai", model: "gpt-z" },
    });
    await look(b, spare);
    const both = () => Promise.all([a.deps.alerts.evaluate(), b.deps.alerts.evaluate()]);
    await both(); // nothing to say yet

    // 1. x1 is suspended; a sees it first and alerts, then both evaluate at the same moment: nothing more.
    await a.store.accounts.update(x1.id, { enabled: false, disabled_reason: "suspended: account suspended" });
    await a.deps.alerts.evaluate();
    await look(b, spare);
    await both();
    // The webhook still holds the first POST: requests are served meanwhile.
    assert.equal(good.hits, 0);
    assert.match(await answerText(await ask(a, "hi")), /^ok:/);
    assert.match(await answerText(await ask(b, "hi", { model: "gpt-y" })), /^ok:/);

    // 2. y needs a new login, which leaves gpt-y without a usable account. b writes it, b alone sees it
    //    (a still has the older view), then both see it and evaluate at the same moment, twice.
    await b.store.accounts.update(y.id, { enabled: false, disabled_reason: "invalid_grant: token revoked" });
    await both();
    await look(a, spare);
    await both();
    await both();

    // 3. x1 is back. a (which alerted) sees it and resolves; b, still looking at x1 suspended, must not
    //    alert for it again, then sees the recovery too.
    await a.store.accounts.update(x1.id, { enabled: true, disabled_reason: null });
    await both();
    await b.deps.alerts.evaluate();
    await look(b, spare);
    await both();

    // 4. y logs in again, written by a: whichever instance alerted resolves once it sees it; the other,
    //    while its view is older, stays quiet.
    await a.store.accounts.update(y.id, { enabled: true, disabled_reason: null });
    await both();
    await b.deps.alerts.evaluate();
    await look(b, spare);
    await both();
    await both();

    // 5. x1 is suspended again: a new occurrence, alerted once more (by a, which still holds its lease).
    await b.store.accounts.update(x1.id, { enabled: false, disabled_reason: "suspended: again" });
    await both();
    await look(a, spare);
    await both();
    await both();

    open();
    assert.equal(await a.deps.alerts.drain(10_000), 0);
    assert.equal(await b.deps.alerts.drain(10_000), 0);
    const seen = good.bodies.map((body) => `${body.status} ${body.condition}`).sort();
    assert.deepEqual(
      seen,
      [
        `firing account_suspended:${x1.id}`,
        `resolved account_suspended:${x1.id}`,
        `firing account_suspended:${x1.id}`,
        `firing account_needs_login:${y.id}`,
        `resolved account_needs_login:${y.id}`,
        "firing no_usable_account:gpt-y",
        "resolved no_usable_account:gpt-y",
      ].sort(),
    );
    // Each alert was offered to the refusing webhook once (a 404 is not retried).
    assert.equal(gone.hits, 7);
    // And the pool still serves.
    assert.match(await answerText(await ask(b, "again")), /^ok:/);
  } finally {
    open();
    await a.deps.alerts.drain(10_000);
    await b.deps.alerts.drain(10_000);
    await b.close();
    await a.close();
    await fake.close();
    await good.close();
    await gone.close();
  }
}

Deno.test("alerts, two instances on one SQLite file: one alert per condition start and clear", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amq2api-alerts-" });
  try {
    await twoInstances(`sqlite:${join(dir, "shared.db")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const BASE_URL = Deno.env.get("MYSQL_TEST_URL");

Deno.test({
  name: "mysql: alerts, two instances on one database: one alert per condition start and clear",
  ignore: !BASE_URL,
  fn: async () => {
    const name = `amq2api_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const url = new URL(BASE_URL!);
    url.pathname = `/${name}`;
    try {
      await twoInstances(url.toString());
    } finally {
      const admin = await mysql.createConnection({ uri: BASE_URL! });
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  },
});
