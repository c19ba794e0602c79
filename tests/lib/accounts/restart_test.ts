/**
 * Account state survives a restart (issue 4): two apps built one after the other over the same SQLite file
 * see the same cooldowns, parking, disabling with its reason, call counts and hourly rate-limit window.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Clock, makeTestApp } from "../../_helpers/test_app.ts";
import {
  addAmazonQ,
  addCustom,
  amazonQEnv,
  amazonQFailure,
  answerText,
  ask,
  fakeAmazonQ,
  fakeOpenAI,
  openAIFailure,
  settle,
} from "../../_helpers/pool_helpers.ts";

Deno.test("cooldown, parking, disabling and the rate-limit window survive a restart on the same database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amq2api-restart-" });
  const openai = fakeOpenAI((seen) =>
    seen.key === "hot" && openai.count("hot") === 1
      ? openAIFailure(429, "too many requests", { "retry-after": "600" })
      : undefined
  );
  const q = fakeAmazonQ({
    script: (seen) => {
      if (seen.key === "at-banned") {
        return amazonQFailure(403, "AccessDeniedException", "suspended", "TEMPORARILY_SUSPENDED");
      }
      if (seen.key === "at-spent") {
        return amazonQFailure(
          429,
          "ThrottlingException",
          "Daily request limit reached",
          "DAILY_REQUEST_COUNT",
        );
      }
      return undefined;
    },
  });
  const env = { DATABASE_URL: `sqlite:${join(dir, "accounts.db")}`, ...amazonQEnv(q) };
  const start = Date.UTC(2026, 10, 25, 12, 0, 0);
  const ids: Record<string, string> = {};
  try {
    const first = makeTestApp({ env, clock: new Clock(start) });
    try {
      ids.hot = (await addCustom(first, openai, "hot", { weight: 100 })).id;
      ids.limited = (await addCustom(first, openai, "limited", { weight: 1, rate_limit_per_hour: 2 })).id;
      ids.banned = (await addAmazonQ(first, "banned")).id;
      ids.spent = (await addAmazonQ(first, "spent")).id;
      // "hot" answers 429 and cools down for 10 minutes; "limited" serves and then uses up its hour.
      const served = [await answerText(await ask(first, "a")), await answerText(await ask(first, "b"))];
      assert.deepEqual(served, ["ok:limited", "ok:limited"]);
      // The Amazon Q accounts: one suspended, one out of daily quota; one request tries both.
      const failed = await ask(first, "q", { model: "claude-sonnet-4-5" });
      assert.notEqual(failed.status, 200);
      await failed.body?.cancel();
      // Requests only: the quota error also triggers an allowance read (`/getUsageLimits`), whenever it lands.
      const requests = q.seen.filter((s) => s.path !== "/getUsageLimits");
      assert.deepEqual(requests.map((s) => s.key).sort(), ["at-banned", "at-spent"]);
      await settle();
    } finally {
      await first.close();
    }

    const second = makeTestApp({ env, clock: new Clock(start + 60_000) });
    try {
      // As main.ts does at start-up: load the last hour of calls into the rate-limit window.
      await second.deps.pool.syncCallWindow();
      const hot = (await second.store.accounts.get(ids.hot!))!;
      assert.equal(hot.cooldown_until, start + 600_000);
      const banned = (await second.store.accounts.get(ids.banned!))!;
      assert.equal(banned.enabled, false);
      assert.match(banned.disabled_reason ?? "", /^suspended: .*TEMPORARILY_SUSPENDED/);
      const spent = (await second.store.accounts.get(ids.spent!))!;
      assert.equal(spent.parked_until, Date.UTC(2026, 10, 26));
      const stats = await second.store.accounts.stats(ids.limited!, second.clock.now());
      assert.equal(stats.successes, 2);
      assert.equal(stats.calls_last_hour, 2);

      // "hot" is cooling down and "limited" used its two calls this hour: nobody may serve gpt-x.
      const refused = await ask(second, "c");
      assert.equal(refused.status, 429);
      await refused.body?.cancel();
      const usable = (await second.deps.pool.usableAccounts()).map((a) => a.label).sort();
      assert.deepEqual(
        usable,
        ["limited"],
        "cooling, parked and disabled accounts stay out after the restart",
      );

      // The cooldown still ends by itself at the time the first instance set.
      second.clock.advance(540_000);
      assert.equal(await answerText(await ask(second, "d")), "ok:hot");
      const served = openai.seen.filter((s) => s.key === "limited").length;
      assert.equal(served, 2, "the rate limit held across the restart");
    } finally {
      await second.close();
    }
  } finally {
    await openai.close();
    await q.close();
    await Deno.remove(dir, { recursive: true });
  }
});
