// Client-key limits under bursts, through the real app: the concurrency cap with its queue (no upstream
// slot held while waiting, leavers dropped, timeout to 429), the token reservation that keeps a burst
// within the limit, and two servers on one MariaDB sharing a key's per-minute limit (MYSQL_TEST_URL).
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { Clock, json, makeTestAppAsync, type TestApp } from "../../_helpers/test_app.ts";
import { API_KEY, ask, fakeUpstream, keyApp, message, settled, storedKey } from "./_key_helpers.ts";

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

async function ownKey(t: TestApp, key: string): Promise<Record<string, Record<string, number>>> {
  return await (await t.request("/v1/key", { headers: { "x-api-key": key } })).json();
}

Deno.test("a burst of 20 with max_concurrency 2: two reach the upstream at a time, the rest queue, a leaver drops out", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream);
  try {
    const { key } = await storedKey(t, { max_concurrency: 2 });
    upstream.hold();
    const leaver = new AbortController();
    const answers = Array.from({ length: 20 }, (_, i) =>
      t.request("/v1/messages", {
        ...json(message(`request ${i}`), { "x-api-key": key }),
        ...(i === 7 ? { signal: leaver.signal } : {}),
      }).then(async (r) => ({ status: r.status, text: await r.text() }), () => ({ status: 499, text: "" })));
    await until(
      "two requests upstream and 18 queued",
      async () => upstream.inFlight === 2 && (await ownKey(t, key)).usage!.queued_here === 18,
    );
    leaver.abort();
    await until("the leaver left the queue", async () => (await ownKey(t, key)).usage!.queued_here === 17);
    upstream.open();
    const results = await Promise.all(answers);
    assert.equal(results.filter((r) => r.status === 200).length, 19);
    assert.equal(results[7]!.status, 499);
    assert.equal(upstream.maxInFlight, 2, "never more than the cap upstream");
    assert.equal(upstream.seen.length, 19);
    assert.ok(!upstream.seen.includes("request 7"), "the leaver never reached the upstream");
    assert.equal((await ownKey(t, key)).usage!.in_flight_here, 0);
  } finally {
    upstream.open();
    await t.close();
    await upstream.stop();
  }
});

Deno.test("at the cap, a request that gets no slot within KEY_QUEUE_TIMEOUT_SECONDS gets a 429", async () => {
  const upstream = fakeUpstream({ prompt: 10, completion: 5 });
  const t = await keyApp(upstream, { env: { KEY_QUEUE_TIMEOUT_SECONDS: "0" } });
  try {
    const { key } = await storedKey(t, { max_concurrency: 1, requests_per_minute: 100 });
    upstream.hold();
    const first = ask(t, key);
    await until("the first request upstream", () => upstream.inFlight === 1);
    const refused = await ask(t, key);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.type, "rate_limit_error");
    assert.match(refused.body.error.message, /max_concurrency/);
    assert.ok(refused.headers.get("retry-after"));
    upstream.open();
    assert.equal((await first).status, 200);
    assert.equal((await ask(t, key)).status, 200, "the slot is free again");
  } finally {
    upstream.open();
    await t.close();
    await upstream.stop();
  }
});

Deno.test("reservations: a burst in flight cannot take more input than tokens_per_day; the overshoot is the output of those in flight", async () => {
  const output = 400;
  const upstream = fakeUpstream({ prompt: 0, completion: output });
  const t = await keyApp(upstream);
  try {
    // What one request reserves: the estimate of its input, read off a roomy key's headers.
    const { key: probe } = await storedKey(t, { tokens_per_day: 1_000_000 });
    const probed = await ask(t, probe, message("burst"));
    const estimate = 1_000_000 - Number(probed.headers.get("anthropic-ratelimit-tokens-remaining"));
    assert.ok(estimate > 0);

    const limit = 5 * estimate;
    const { key, id } = await storedKey(t, { tokens_per_day: limit });
    upstream.hold();
    const before = upstream.seen.length;
    const answers = Array.from({ length: 12 }, () => ask(t, key, message("burst")));
    // Without reservations all 12 would be in flight; with them only what fits the limit is.
    await until("the admitted requests upstream", () => upstream.seen.length - before === 5);
    upstream.open();
    const results = await Promise.all(answers);
    assert.equal(results.filter((r) => r.status === 200).length, 5);
    assert.equal(results.filter((r) => r.status === 429).length, 7);
    // Settled with what they used: at most the limit plus the output of the 5 that were in flight.
    await settled(t, id, (n) => n !== limit);
    const [day] = await t.store.keyWindows.read(id, [{ kind: "day", start: Date.UTC(2026, 10, 25) }]);
    assert.ok(day!.tokens <= limit + 5 * output, `${day!.tokens} > ${limit} + 5 x ${output}`);
    assert.ok(day!.tokens >= 5 * output);
  } finally {
    upstream.open();
    await t.close();
    await upstream.stop();
  }
});

const BASE_URL = Deno.env.get("MYSQL_TEST_URL");

Deno.test({
  name: "mysql: two servers on one database share a key's requests_per_minute exactly",
  ignore: !BASE_URL,
  fn: async () => {
    const name = `amq2api_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const url = new URL(BASE_URL!);
    url.pathname = `/${name}`;
    const upstream = fakeUpstream({ prompt: 10, completion: 5 });
    const clock = new Clock();
    try {
      const env = { DATABASE_URL: url.toString(), API_KEY, CACHE_STALENESS_MS: "0" };
      const a = await makeTestAppAsync({ env, clock });
      try {
        const b = await makeTestAppAsync({ env, clock });
        try {
          await a.store.accounts.create({
            type: "custom_api",
            clientSecret: "sk-test",
            other: { api_base: upstream.url, format: "openai" },
          });
          const { key } = await storedKey(a, { requests_per_minute: 3 });
          const burst = await Promise.all(
            Array.from({ length: 8 }, (_, i) => ask(i % 2 === 0 ? a : b, key, message(`r${i}`))),
          );
          assert.equal(burst.filter((r) => r.status === 200).length, 3, burst.map((r) => r.status).join());
          assert.equal(burst.filter((r) => r.status === 429).length, 5);
          assert.equal(upstream.seen.length, 3);
          clock.advance(60_000);
          assert.equal((await ask(b, key)).status, 200, "the next minute is free on the other server too");
        } finally {
          await b.close();
        }
      } finally {
        await a.close();
      }
    } finally {
      await upstream.stop();
      const admin = await mysql.createConnection({ uri: BASE_URL! });
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  },
});
