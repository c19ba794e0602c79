/**
 * Account choice through the real app (issue 4): weighted spread, sticky conversations, the hourly rate
 * limit, the in-flight cap with its bounded wait queue, a cooldown that ends by itself, and `X-Account-ID`
 * reserved for admins. Custom OpenAI-format accounts on one fake upstream, told apart by their API keys.
 */
import assert from "node:assert/strict";
import { adminSession, makeTestApp } from "../../_helpers/test_app.ts";
import {
  addAmazonQ,
  addCustom,
  amazonQEnv,
  answerText,
  ask,
  fakeAmazonQ,
  fakeOpenAI,
  openAIFailure,
  openAIOk,
  seeded,
  settle,
} from "../../_helpers/pool_helpers.ts";

Deno.test("600 requests spread over weights 10/30/60 within 4 points of their shares", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp({ random: seeded(20260425) });
  try {
    await addCustom(t, fake, "w10", { weight: 10 });
    await addCustom(t, fake, "w30", { weight: 30 });
    await addCustom(t, fake, "w60", { weight: 60 });
    const n = 600;
    for (let i = 0; i < n; i++) {
      // A different first turn each time: every request is its own conversation, so stickiness plays no part.
      const response = await ask(t, `independent question ${i}`);
      assert.equal(response.status, 200);
      await response.body?.cancel();
    }
    for (const [key, share] of [["w10", 0.1], ["w30", 0.3], ["w60", 0.6]] as const) {
      const got = fake.count(key) / n;
      assert.ok(Math.abs(got - share) <= 0.04, `${key}: share ${got.toFixed(3)}, expected ${share} ± 0.04`);
    }
    assert.equal(fake.seen.length, n, "no request was retried");
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a multi-turn conversation stays on its account; different conversations spread", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp({ random: seeded(7) });
  try {
    for (const key of ["k1", "k2", "k3"]) await addCustom(t, fake, key);
    const owners = new Set<string>();
    for (let conv = 0; conv < 12; conv++) {
      const messages: Array<{ role: string; content: string }> = [];
      let owner: string | null = null;
      for (let turn = 0; turn < 4; turn++) {
        messages.push({ role: "user", content: turn === 0 ? `conversation ${conv} opens` : `turn ${turn}` });
        // Half the conversations carry Claude Code's session header, half rely on the first-turn hash.
        const headers: Record<string, string> = conv % 2 === 0
          ? { "x-claude-code-session-id": `sess-${conv}` }
          : {};
        const answer = await answerText(await ask(t, "", { messages, headers }));
        const served = answer.replace(/^ok:/, "");
        owner ??= served;
        assert.equal(served, owner, `conversation ${conv} turn ${turn} moved from ${owner} to ${served}`);
        messages.push({ role: "assistant", content: answer });
      }
      owners.add(owner!);
    }
    assert.ok(owners.size >= 2, `12 conversations all landed on ${[...owners]}`);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a sticky conversation moves when its account cools down, then stays on the new one", async () => {
  let throttle = "";
  const fake = fakeOpenAI((seen) =>
    seen.key === throttle ? openAIFailure(429, "slow down", { "retry-after": "120" }) : undefined
  );
  const t = makeTestApp({ random: seeded(3) });
  try {
    await addCustom(t, fake, "s1");
    await addCustom(t, fake, "s2");
    const headers = { "x-claude-code-session-id": "sticky-1" };
    const first = (await answerText(await ask(t, "hello", { headers }))).replace(/^ok:/, "");
    throttle = first;
    const second = (await answerText(await ask(t, "hello", { headers }))).replace(/^ok:/, "");
    assert.notEqual(second, first, "failed over to the other account");
    throttle = "";
    t.clock.advance(121_000);
    const third = (await answerText(await ask(t, "hello", { headers }))).replace(/^ok:/, "");
    assert.equal(
      third,
      second,
      "the conversation stays where it moved, even after the first account is back",
    );
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("rate_limit_per_hour is enforced over a sliding hour", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp({ random: seeded(11) });
  try {
    const limited = await addCustom(t, fake, "limited", { rate_limit_per_hour: 3, weight: 100 });
    for (let i = 0; i < 3; i++) assert.equal(await answerText(await ask(t, `q${i}`)), "ok:limited");
    const refused = await ask(t, "q4");
    assert.equal(refused.status, 429);
    // The oldest of the three calls leaves the window in an hour (and a millisecond): that is the wait.
    assert.equal(refused.headers.get("retry-after"), "3601");
    assert.equal((await refused.json()).error.type, "rate_limit_error");
    assert.equal(fake.count("limited"), 3, "the refused request never reached the upstream");

    // A second account takes the overflow while the first is at its limit.
    await addCustom(t, fake, "spare", { weight: 1 });
    for (let i = 0; i < 5; i++) assert.equal(await answerText(await ask(t, `overflow ${i}`)), "ok:spare");

    // An hour later the window has slid past the three calls.
    t.clock.advance(3_600_001);
    assert.equal(await answerText(await ask(t, "next hour")), "ok:limited");
    await settle();
    const stats = await t.store.accounts.stats(limited.id, t.clock.now());
    assert.equal(stats.calls_last_hour, 1);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("max_inflight caps concurrent calls; a busy request waits for the slot", async () => {
  let active = 0;
  let peak = 0;
  const fake = fakeOpenAI(async (seen) => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 150));
    active--;
    return openAIOk(seen.key);
  });
  const t = makeTestApp({ poolWaitMs: 5_000 });
  try {
    await addCustom(t, fake, "capped", { max_inflight: 1 });
    const answers = await Promise.all([0, 1, 2].map((i) => ask(t, `parallel ${i}`).then(answerText)));
    assert.deepEqual(answers, ["ok:capped", "ok:capped", "ok:capped"]);
    assert.equal(peak, 1, "never more than one call in flight");
    assert.equal(
      t.deps.pool.inflight((await t.store.accounts.list())[0]!.id),
      0,
      "every slot was given back",
    );
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("when every account is at its cap past the wait, the client gets 529 overloaded_error", async () => {
  const fake = fakeOpenAI(async (seen) => {
    await new Promise((r) => setTimeout(r, 400));
    return openAIOk(seen.key);
  });
  const t = makeTestApp({ poolWaitMs: 60 });
  try {
    await addCustom(t, fake, "one", { max_inflight: 1 });
    await addCustom(t, fake, "two", { max_inflight: 1 });
    const responses = await Promise.all([0, 1, 2].map((i) => ask(t, `burst ${i}`)));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 529]);
    const overloaded = responses.find((r) => r.status === 529)!;
    assert.equal((await overloaded.json()).error.type, "overloaded_error");
    assert.ok(overloaded.headers.get("retry-after"), "529 carries retry-after");
    for (const r of responses) await r.body?.cancel().catch(() => {});
    assert.equal(fake.seen.length, 2, "the overflow request never reached an upstream");
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a 429 cooldown follows retry-after and ends by itself on the injected clock", async () => {
  let calls = 0;
  const fake = fakeOpenAI(() =>
    ++calls === 1 ? openAIFailure(429, "rate limited", { "retry-after": "30" }) : undefined
  );
  const t = makeTestApp();
  try {
    const account = await addCustom(t, fake, "cool");
    const first = await ask(t, "one");
    assert.equal(first.status, 429);
    await first.body?.cancel();
    const stored = (await t.store.accounts.get(account.id))!;
    assert.equal(stored.cooldown_until, t.clock.now() + 30_000);

    const during = await ask(t, "two");
    assert.equal(during.status, 429);
    assert.equal((await during.json()).error.type, "rate_limit_error");
    assert.equal(during.headers.get("retry-after"), "30");
    assert.equal(calls, 1, "a cooling account is not called");

    t.clock.advance(29_000);
    const almost = await ask(t, "three");
    assert.equal(almost.status, 429);
    assert.equal(almost.headers.get("retry-after"), "1");
    await almost.body?.cancel();

    t.clock.advance(1_000);
    assert.equal(await answerText(await ask(t, "four")), "ok:cool");
    assert.equal(calls, 2);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("X-Account-ID is refused for client keys and honoured for an admin session", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp({ env: { API_KEY: "sk-client-key-0123456789" }, random: () => 0.99 });
  try {
    await addCustom(t, fake, "main", { weight: 100 });
    const side = await addCustom(t, fake, "side", { weight: 1 });
    const client = await ask(t, "force", {
      headers: { "x-api-key": "sk-client-key-0123456789", "x-account-id": side.id },
    });
    assert.equal(client.status, 403);
    assert.equal((await client.json()).error.type, "permission_error");
    assert.equal(fake.seen.length, 0);

    // The same client without the header is served normally.
    assert.equal(
      await answerText(await ask(t, "plain", { headers: { "x-api-key": "sk-client-key-0123456789" } })),
      "ok:main",
    );

    const token = await adminSession(t);
    const forced = await ask(t, "force", { headers: { "x-session-token": token, "x-account-id": side.id } });
    assert.equal(await answerText(forced), "ok:side");

    await t.store.accounts.update(side.id, { enabled: false });
    const disabled = await ask(t, "force", {
      headers: { "x-session-token": token, "x-account-id": side.id },
    });
    assert.equal(disabled.status, 403);
    await disabled.body?.cancel();
    const testMode = await ask(t, "force", {
      headers: { "x-session-token": token, "x-account-id": side.id, "x-test-mode": "true" },
    });
    assert.equal(await answerText(testMode), "ok:side");
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a sticky Amazon Q conversation keeps its account and its upstream conversationId across turns", async () => {
  const fake = fakeAmazonQ();
  const t = makeTestApp({ env: amazonQEnv(fake), random: seeded(5) });
  try {
    for (const name of ["qa", "qb", "qc"]) await addAmazonQ(t, name);
    const conversation = async (session: string) => {
      const messages: Array<{ role: string; content: string }> = [];
      for (let turn = 0; turn < 3; turn++) {
        messages.push({ role: "user", content: `${session} turn ${turn}` });
        const answer = await answerText(
          await ask(t, "", {
            model: "claude-sonnet-4-5",
            messages,
            headers: { "x-claude-code-session-id": session },
          }),
        );
        messages.push({ role: "assistant", content: answer });
      }
      const calls = fake.seen.filter((s) =>
        (s.body.conversationState as { conversationId?: string } | undefined)?.conversationId
      )
        .slice(-3);
      const ids = new Set(
        calls.map((s) => (s.body.conversationState as { conversationId: string }).conversationId),
      );
      const keys = new Set(calls.map((s) => s.key));
      assert.equal(ids.size, 1, `${session}: one upstream conversationId, got ${[...ids]}`);
      assert.equal(keys.size, 1, `${session}: one account, got ${[...keys]}`);
      return [...ids][0]!;
    };
    const first = await conversation("session-one");
    const second = await conversation("session-two");
    assert.notEqual(first, second, "different sessions get different upstream conversations");
  } finally {
    await t.close();
    await fake.close();
  }
});
