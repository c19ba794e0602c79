/**
 * The health probe job against a fake upstream and an injected clock: accounts disabled for a failure that
 * may pass, and expired parking, are re-tested with one minimal request and put back when they answer;
 * suspended, invalid-grant, admin-disabled and still-parked accounts are left alone.
 */
import assert from "node:assert/strict";
import { runProbeJob } from "../../../lib/accounts/probe_job.ts";
import { NullLogger } from "../../../lib/log.ts";
import { makeTestApp } from "../../_helpers/test_app.ts";
import { addCustom, fakeOpenAI, openAIFailure } from "../../_helpers/pool_helpers.ts";
import { Scrape } from "./_prometheus.ts";

Deno.test("probe job: re-enables a recovered account, leaves suspended and admin-disabled ones alone", async () => {
  const fake = fakeOpenAI((seen) =>
    seen.key === "still-down" ? openAIFailure(503, "still overloaded") : undefined
  );
  const t = makeTestApp();
  try {
    const now = t.clock.now();
    const disabled = (reason: string | null) => ({
      enabled: false,
      disabled_reason: reason,
      disabled_at: reason ? now - 60_000 : null,
    });
    const recovered = await addCustom(t, fake, "recovered");
    await t.store.accounts.update(recovered.id, disabled("transient: upstream timed out"));
    const stillDown = await addCustom(t, fake, "still-down");
    await t.store.accounts.update(stillDown.id, disabled("transient: upstream timed out"));
    const suspended = await addCustom(t, fake, "suspended");
    await t.store.accounts.update(suspended.id, disabled("suspended: account suspended"));
    const relogin = await addCustom(t, fake, "relogin");
    await t.store.accounts.update(relogin.id, disabled("invalid_grant: refresh token revoked"));
    const byAdmin = await addCustom(t, fake, "by-admin");
    await t.store.accounts.update(byAdmin.id, disabled(null));
    const parkedOver = await addCustom(t, fake, "parked-over");
    await t.store.accounts.update(parkedOver.id, { parked_until: now - 1, last_error: "quota exhausted" });
    const parkedStill = await addCustom(t, fake, "parked-still");
    await t.store.accounts.update(parkedStill.id, { parked_until: now + 3_600_000 });

    const result = await runProbeJob({
      store: t.store,
      gateway: t.deps.gateway,
      routing: t.deps.routing,
      log: new NullLogger(),
      now: t.clock.now,
      holder: "test-instance",
      metrics: t.deps.metrics,
    });

    assert.deepEqual(fake.seen.map((s) => s.key).sort(), ["parked-over", "recovered", "still-down"]);
    // The probe is the minimal request: one token.
    assert.equal(fake.seen[0]!.body.max_tokens, 1);
    assert.deepEqual(result.reenabled.sort(), [recovered.id, parkedOver.id].sort());
    assert.deepEqual(result.failed, [stillDown.id]);
    assert.equal(result.probed, 3);

    const after = async (id: string) => (await t.store.accounts.get(id))!;
    assert.equal((await after(recovered.id)).enabled, true);
    assert.equal((await after(recovered.id)).disabled_reason, null);
    assert.equal((await after(parkedOver.id)).parked_until, null);
    assert.equal((await after(stillDown.id)).enabled, false);
    assert.match((await after(stillDown.id)).disabled_reason!, /^transient:/);
    assert.equal((await after(suspended.id)).enabled, false);
    assert.match((await after(suspended.id)).disabled_reason!, /^suspended:/);
    assert.equal((await after(relogin.id)).enabled, false);
    assert.equal((await after(byAdmin.id)).enabled, false);
    assert.equal((await after(parkedStill.id)).parked_until, now + 3_600_000);

    const m = new Scrape(await t.deps.metrics.exposition());
    assert.equal(m.value("amq2api_account_probes_total", { outcome: "reenabled" }), 2);
    assert.equal(m.value("amq2api_account_probes_total", { outcome: "failed" }), 1);

    // A second run finds only the account that still fails.
    const again = await runProbeJob({
      store: t.store,
      gateway: t.deps.gateway,
      routing: t.deps.routing,
      log: new NullLogger(),
      now: t.clock.now,
      holder: "test-instance",
    });
    assert.equal(again.probed, 1);
    assert.deepEqual(again.failed, [stillDown.id]);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("probe job: an account another instance is probing is skipped", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp();
  try {
    const account = await addCustom(t, fake, "recovered");
    await t.store.accounts.update(account.id, { enabled: false, disabled_reason: "throttled: slow down" });
    assert.equal(
      await t.store.leases.acquire(`probe:${account.id}`, "other-instance", t.clock.now(), 60_000),
      true,
    );
    const result = await runProbeJob({
      store: t.store,
      gateway: t.deps.gateway,
      routing: t.deps.routing,
      log: new NullLogger(),
      now: t.clock.now,
      holder: "test-instance",
    });
    assert.equal(result.skipped, 1);
    assert.equal(fake.seen.length, 0);
    assert.equal((await t.store.accounts.get(account.id))!.enabled, false);
  } finally {
    await t.close();
    await fake.close();
  }
});
