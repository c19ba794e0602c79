/**
 * The Amazon Q / Kiro monthly allowance: parsed from a recorded-shape `getUsageLimits` answer, read from a
 * fake upstream with the account's token, stored and shown by the account API, an exhausted account parked
 * until its reset and resumed after it (injected clock), the scheduled job under leases, and a read right
 * after a quota error.
 */
import assert from "node:assert/strict";
import { allowanceFromUsageLimits } from "../../../lib/amazonq/allowance_from_usage_limits.ts";
import { runAllowanceJob } from "../../../lib/amazonq/allowance_job.ts";
import type { Allowance } from "../../../lib/amazonq/allowance_from_usage_limits.ts";
import { adminSession, makeTestApp } from "../../_helpers/test_app.ts";
import {
  addAmazonQ,
  amazonQEnv,
  amazonQFailure,
  ask,
  fakeAmazonQ,
  settle,
} from "../../_helpers/pool_helpers.ts";

const FIXTURE = JSON.parse(
  await Deno.readTextFile(new URL("../../fixtures/amazonq/get_usage_limits.json", import.meta.url)),
);
const RESET = Date.UTC(2027, 0, 1);
/** The test clock's default time (before the fixture's reset and the trial's expiry). */
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

/** The fixture with everything used up. */
function exhausted(): Record<string, unknown> {
  const answer = structuredClone(FIXTURE);
  const entry = answer.usageBreakdownList[0];
  entry.currentUsageWithPrecision = entry.usageLimitWithPrecision;
  entry.freeTrialInfo.currentUsageWithPrecision = entry.freeTrialInfo.usageLimitWithPrecision;
  entry.bonuses[0].currentUsageWithPrecision = entry.bonuses[0].usageLimitWithPrecision;
  return answer;
}

Deno.test("the allowance adds base, active trial and active bonuses, and reads the reset time", () => {
  assert.deepEqual(allowanceFromUsageLimits(FIXTURE, NOW), {
    limit: 650,
    used: 202.75,
    remaining: 447.25,
    resets_at: new Date(RESET).toISOString(),
    resource_type: "CREDIT",
    subscription: "KIRO FREE",
  });
  // After the trial's expiry date only base and bonus count, even if the status was not updated yet.
  const expired = structuredClone(FIXTURE);
  delete expired.usageBreakdownList[0].freeTrialInfo.freeTrialStatus;
  assert.equal(allowanceFromUsageLimits(expired, Date.UTC(2026, 11, 19))!.limit, 150);
  // ISO dates and a missing per-entry reset (the top-level one counts) are read too.
  const iso = structuredClone(FIXTURE);
  delete iso.usageBreakdownList[0].nextDateReset;
  iso.nextDateReset = "2027-01-01T00:00:00Z";
  assert.equal(allowanceFromUsageLimits(iso, NOW)!.resets_at, new Date(RESET).toISOString());
  assert.equal(allowanceFromUsageLimits(exhausted(), NOW)!.remaining, 0);
  assert.equal(allowanceFromUsageLimits({ usageBreakdownList: [] }, NOW), null);
  assert.equal(allowanceFromUsageLimits("nope", NOW), null);
});

Deno.test("the backend reads getUsageLimits with the account's token and profile, and the job stores it", async () => {
  const fake = fakeAmazonQ({
    script: (seen) => seen.path === "/getUsageLimits" ? Response.json(FIXTURE) : undefined,
  });
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    const account = await addAmazonQ(t, "q1", {
      other: { profileArn: "arn:aws:codewhisperer:us-east-1:1:profile/X" },
    });
    const fetchAllowance = t.deps.fetchAmazonQAllowance!;
    const result = await runAllowanceJob({
      store: t.store,
      fetchAllowance: (a) => fetchAllowance(a),
      now: t.clock.now,
      holder: "one",
      maxAgeMs: 3_600_000,
    });
    assert.deepEqual(result, { due: 1, updated: 1, failed: 0, exhausted: 0, skipped: 0 });
    const call = fake.seen.find((s) => s.path === "/getUsageLimits")!;
    assert.equal(call.key, "at-q1");
    const stored = (await t.store.accounts.get(account.id))!;
    assert.equal((stored.other.allowance as Allowance).remaining, 447.25);
    assert.equal((stored.other.allowance as Record<string, unknown>).fetched_at, new Date(NOW).toISOString());
    assert.equal(stored.parked_until, null);

    // The account API shows it (the console reads the same field).
    const token = await adminSession(t);
    const view =
      await (await t.request(`/v2/accounts/${account.id}`, { headers: { "x-session-token": token } }))
        .json();
    assert.equal(view.allowance.remaining, 447.25);
    assert.equal(view.allowance.resets_at, new Date(RESET).toISOString());

    // Fresh enough: the next scheduled run leaves it alone.
    t.clock.advance(10 * 60_000);
    const again = await runAllowanceJob({
      store: t.store,
      fetchAllowance: (a) => fetchAllowance(a),
      now: t.clock.now,
      holder: "one",
      maxAgeMs: 3_600_000,
    });
    assert.equal(again.due, 0);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("the query names the origin, the resource and the account's profile", async () => {
  let seen: URL | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen = new URL(request.url);
    return Response.json(FIXTURE);
  });
  const t = makeTestApp({ env: { AMAZONQ_API_ENDPOINT: `http://127.0.0.1:${server.addr.port}/` } });
  try {
    const account = await addAmazonQ(t, "q1", {
      other: { profileArn: "arn:aws:codewhisperer:us-east-1:1:profile/X" },
    });
    const allowance = await t.deps.fetchAmazonQAllowance!(account);
    assert.equal(allowance.limit, 650);
    assert.equal(seen!.pathname, "/getUsageLimits");
    assert.equal(seen!.searchParams.get("origin"), "AI_EDITOR");
    assert.equal(seen!.searchParams.get("resourceType"), "AGENTIC_REQUEST");
    assert.equal(seen!.searchParams.get("profileArn"), "arn:aws:codewhisperer:us-east-1:1:profile/X");
  } finally {
    await t.close();
    await server.shutdown();
  }
});

Deno.test("an exhausted account is parked until its reset and resumes after it; leases keep instances apart", async () => {
  const t = makeTestApp();
  try {
    const account = await addAmazonQ(t, "q1");
    let answer: Record<string, unknown> = exhausted();
    let reads = 0;
    const fetchAllowance = () => {
      reads++;
      return Promise.resolve(allowanceFromUsageLimits(answer, t.clock.now())!);
    };
    const job = (holder: string) =>
      runAllowanceJob({ store: t.store, fetchAllowance, now: t.clock.now, holder, maxAgeMs: 3_600_000 });

    // Another instance holds this account's lease: this one skips it and reads nothing.
    assert.equal(
      await t.store.leases.acquire(`allowance:${account.id}`, "other", t.clock.now(), 60_000),
      true,
    );
    assert.deepEqual(await job("one"), { due: 1, updated: 0, failed: 0, exhausted: 0, skipped: 1 });
    assert.equal(reads, 0);
    await t.store.leases.release(`allowance:${account.id}`, "other");

    assert.deepEqual(await job("one"), { due: 1, updated: 1, failed: 0, exhausted: 1, skipped: 0 });
    let stored = (await t.store.accounts.get(account.id))!;
    assert.equal(stored.parked_until, RESET);
    assert.equal(stored.other.allowance_parked_until, RESET);
    assert.equal((await t.deps.pool.usableAccounts()).length, 0);
    const refused = await ask(t, "hello", { model: "claude-sonnet-4-5" });
    assert.equal(refused.status, 429);
    await refused.body?.cancel();

    // Before the reset the schedule does not read it again (the stored allowance is fresh, parking runs).
    t.clock.advance(30 * 60_000);
    assert.equal((await job("one")).due, 0);

    // After the reset: the account is due, the upstream shows a new allowance, the parking is lifted.
    t.clock.t = RESET + 60_000;
    answer = structuredClone(FIXTURE);
    const after = await job("one");
    assert.equal(after.updated, 1);
    assert.equal(after.exhausted, 0);
    stored = (await t.store.accounts.get(account.id))!;
    assert.equal(stored.parked_until, null);
    assert.equal(stored.other.allowance_parked_until, undefined);
    assert.equal((await t.deps.pool.usableAccounts()).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("a parking set by an operator or an error is not lifted by a read that shows allowance", async () => {
  const t = makeTestApp();
  try {
    const account = await addAmazonQ(t, "q1");
    await t.store.accounts.update(account.id, { parked_until: t.clock.now() + 86_400_000 });
    await runAllowanceJob({
      store: t.store,
      fetchAllowance: () => Promise.resolve(allowanceFromUsageLimits(FIXTURE, t.clock.now())!),
      now: t.clock.now,
      holder: "one",
      maxAgeMs: 0,
    });
    assert.equal((await t.store.accounts.get(account.id))!.parked_until, t.clock.now() + 86_400_000);
  } finally {
    await t.close();
  }
});

Deno.test("a quota error triggers a read: the account is parked until the allowance's real reset", async () => {
  const fake = fakeAmazonQ({
    script: (seen) =>
      seen.path === "/getUsageLimits" ? Response.json(exhausted()) : amazonQFailure(
        402,
        "ServiceQuotaExceededException",
        "Monthly limit reached",
        "MONTHLY_REQUEST_COUNT",
      ),
  });
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    const account = await addAmazonQ(t, "q1");
    const response = await ask(t, "hello", { model: "claude-sonnet-4-5" });
    assert.equal(response.status, 429);
    await response.body?.cancel();
    // The read is fire-and-forget: wait (bounded) until it has been stored.
    for (let i = 0; i < 100; i++) {
      if ((await t.store.accounts.get(account.id))!.other.allowance) break;
      await settle(10);
    }
    const stored = (await t.store.accounts.get(account.id))!;
    assert.equal((stored.other.allowance as Allowance).remaining, 0);
    assert.equal(stored.parked_until, RESET);
    assert.equal(fake.seen.filter((s) => s.path === "/getUsageLimits").length, 1);
  } finally {
    await t.close();
    await fake.close();
  }
});
