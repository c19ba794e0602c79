/**
 * Token refresh keyed to the refused token, under load: a fake Amazon Q that revokes every access token at
 * the start of each round and a fake token endpoint that issues new ones. In every round of 100 concurrent
 * requests over 3 accounts, each account is refreshed exactly once, every request is answered, and no
 * account is cooled down or disabled, since a refresh fixed what was wrong.
 */
import assert from "node:assert/strict";
import { makeTestApp } from "../../_helpers/test_app.ts";
import {
  addAmazonQ,
  amazonQEnv,
  amazonQFailure,
  answerText,
  ask,
  fakeAmazonQ,
} from "../../_helpers/pool_helpers.ts";

const ROUNDS = 20;
const REQUESTS = 100;

Deno.test("revoked tokens: one refresh per account per revocation, no cooldowns, over repeated bursts", async () => {
  const valid = new Set<string>(["at-q1", "at-q2", "at-q3"]);
  const fake = fakeAmazonQ({
    script: (seen) =>
      valid.has(seen.key) ? undefined : amazonQFailure(
        403,
        "AccessDeniedException",
        "The bearer token included in the request is invalid.",
      ),
    refresh: async (body, n) => {
      await new Promise((r) => setTimeout(r, 10));
      const token = `at-${body.refreshToken}-${n}`;
      valid.add(token);
      return Response.json({ accessToken: token, expiresIn: 3600 });
    },
  });
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    for (const name of ["q1", "q2", "q3"]) await addAmazonQ(t, name);
    for (let round = 0; round < ROUNDS; round++) {
      valid.clear(); // the upstream revokes every token issued so far
      const before = fake.refreshes.length;
      const responses = await Promise.all(
        Array.from(
          { length: REQUESTS },
          (_, i) => ask(t, `round ${round} request ${i}`, { model: "claude-sonnet-4-5" }),
        ),
      );
      const texts = await Promise.all(responses.map(answerText));
      assert.equal(texts.length, REQUESTS);
      const refreshed = fake.refreshes.slice(before).map((r) => String(r.refreshToken)).sort();
      assert.deepEqual(refreshed, ["rt-q1", "rt-q2", "rt-q3"], `round ${round}: one refresh per account`);
      for (const account of await t.store.accounts.list()) {
        assert.equal(account.cooldown_until, null, `round ${round}: ${account.label} was cooled down`);
        assert.equal(account.enabled, true, `round ${round}: ${account.label} was disabled`);
      }
    }
    assert.equal(t.deps.tokens.refreshCount, ROUNDS * 3);
  } finally {
    await t.close();
    await fake.close();
  }
});
