/**
 * Model fallback chains (`model_fallbacks` in `/v2/config`): a request moves to the next model only when no
 * account can take its own model right now (every one parked, cooling down or busy, or throttled just now);
 * never for a client error or a model nobody serves. The answer names the model that served, the header
 * `x-amq2api-model-fallback` the one asked for, and the usage record the model that served.
 */
import assert from "node:assert/strict";
import { adminSession, json, makeTestApp, type TestApp } from "../../_helpers/test_app.ts";
import {
  addAmazonQ,
  addCustom,
  amazonQEnv,
  amazonQFailure,
  amazonQOk,
  ask,
  fakeAmazonQ,
  fakeOpenAI,
  settle,
} from "../../_helpers/pool_helpers.ts";

const OPUS = "claude-opus-4-5";

async function configure(t: TestApp, fallbacks: Record<string, string[]>): Promise<void> {
  const token = await adminSession(t);
  const response = await t.request(
    "/v2/config",
    json({ amazonq_only_models: [OPUS], model_fallbacks: fallbacks }, { "x-session-token": token }, "PUT"),
  );
  assert.equal(response.status, 200, await response.text());
}

async function setup(options: { poolWaitMs?: number; script?: Parameters<typeof fakeAmazonQ>[0] } = {}) {
  const q = fakeAmazonQ(options.script ?? {});
  const openai = fakeOpenAI();
  const t = makeTestApp({
    env: amazonQEnv(q),
    ...(options.poolWaitMs !== undefined ? { poolWaitMs: options.poolWaitMs } : {}),
  });
  await configure(t, { [OPUS]: ["gemini-3-flash", "gpt-x"] });
  const custom = await addCustom(t, openai, "fallback-key");
  return {
    t,
    q,
    openai,
    custom,
    close: async () => {
      await t.close();
      await q.close();
      await openai.close();
    },
  };
}

async function readSse(response: Response): Promise<Array<{ type: string; [k: string]: unknown }>> {
  const text = await response.text();
  return text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)));
}

Deno.test("every account for the model parked: the fallback serves, named in the answer, header and usage", async () => {
  const s = await setup();
  try {
    const parked = await addAmazonQ(s.t, "q1");
    await s.t.store.accounts.update(parked.id, { parked_until: s.t.clock.now() + 3_600_000 });

    const response = await ask(s.t, "hello", { model: OPUS });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.model, "gpt-x");
    assert.equal(response.headers.get("x-amq2api-model-fallback"), OPUS);
    assert.equal(body.content[0].text, "ok:fallback-key");
    assert.equal(s.q.seen.length, 0);

    await settle();
    const usage = await s.t.store.usage.recent(5);
    assert.equal(usage.length, 1);
    // The record keeps both: the model asked for, and the upstream model that served it.
    assert.equal(usage[0]!.model, OPUS);
    assert.equal(usage[0]!.upstream_model, "gpt-x");
    assert.equal(usage[0]!.account_id, s.custom.id);
  } finally {
    await s.close();
  }
});

Deno.test("streaming: every account cooling down, the stream's message_start names the fallback model", async () => {
  const s = await setup();
  try {
    const cooling = await addAmazonQ(s.t, "q1");
    await s.t.store.accounts.update(cooling.id, { cooldown_until: s.t.clock.now() + 60_000 });
    const response = await ask(s.t, "hello", { model: OPUS, stream: true });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-amq2api-model-fallback"), OPUS);
    const events = await readSse(response);
    const start = events.find((e) => e.type === "message_start") as unknown as { message: { model: string } };
    assert.equal(start.message.model, "gpt-x");
    assert.equal(events.at(-1)!.type, "message_stop");
  } finally {
    await s.close();
  }
});

Deno.test("the only account throttled on this request: the fallback serves it", async () => {
  const s = await setup({
    script: { script: () => amazonQFailure(429, "ThrottlingException", "Too many requests") },
  });
  try {
    await addAmazonQ(s.t, "q1");
    const response = await ask(s.t, "hello", { model: OPUS });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.model, "gpt-x");
    assert.equal(s.q.seen.length, 1);
  } finally {
    await s.close();
  }
});

Deno.test("every account busy: the fallback serves after the pool's wait", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  const s = await setup({
    poolWaitMs: 50,
    script: {
      script: (seen) =>
        JSON.stringify(seen.body).includes("hold") ? held.then(() => amazonQOk(`ok:${seen.key}`)) : undefined,
    },
  });
  try {
    await addAmazonQ(s.t, "q1", { max_inflight: 1 });
    const first = ask(s.t, "hold", { model: OPUS });
    // Bounded wait until the first request holds the only slot.
    for (let i = 0; i < 200 && s.q.seen.length === 0; i++) await settle(10);
    assert.equal(s.q.seen.length, 1);
    const second = await ask(s.t, "hello", { model: OPUS });
    const body = await second.json();
    assert.equal(second.status, 200, JSON.stringify(body));
    assert.equal(body.model, "gpt-x");
    assert.equal(second.headers.get("x-amq2api-model-fallback"), OPUS);
    release();
    const firstResponse = await first;
    assert.equal(firstResponse.headers.get("x-amq2api-model-fallback"), null);
    assert.equal((await firstResponse.json()).model, OPUS);
  } finally {
    release();
    await s.close();
  }
});

Deno.test("no fallback for a client error from the upstream", async () => {
  const s = await setup({
    script: { script: () => amazonQFailure(400, "ValidationException", "Improperly formed request.") },
  });
  try {
    await addAmazonQ(s.t, "q1");
    const response = await ask(s.t, "hello", { model: OPUS });
    const body = await response.json();
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(body.type, "error");
    assert.equal(response.headers.get("x-amq2api-model-fallback"), null);
    assert.equal(s.openai.seen.length, 0);
  } finally {
    await s.close();
  }
});

Deno.test("no fallback for a model no account serves (404)", async () => {
  const s = await setup();
  try {
    // No Amazon Q account at all: the requested model is not served, which a fallback must not hide.
    const response = await ask(s.t, "hello", { model: OPUS });
    const body = await response.json();
    assert.equal(response.status, 404, JSON.stringify(body));
    assert.equal(body.error.type, "not_found_error");
    assert.equal(s.openai.seen.length, 0);
  } finally {
    await s.close();
  }
});

Deno.test("model_fallbacks is validated on PUT /v2/config", async () => {
  const t = makeTestApp();
  try {
    const token = await adminSession(t);
    const put = (value: unknown) =>
      t.request("/v2/config", json({ model_fallbacks: value }, { "x-session-token": token }, "PUT"));
    for (const bad of [{ a: "b" }, { a: ["a"] }, { a: [] }, ["a"], { a: [""] }]) {
      const response = await put(bad);
      const body = await response.json();
      assert.equal(response.status, 400, JSON.stringify(bad));
      assert.match(body.error.message, /model_fallbacks/);
    }
    const ok = await put({ [OPUS]: ["claude-sonnet-4-5"] });
    assert.equal(ok.status, 200);
    const config = await (await t.request("/v2/config", { headers: { "x-session-token": token } })).json();
    assert.deepEqual(config.model_fallbacks, { [OPUS]: ["claude-sonnet-4-5"] });
  } finally {
    await t.close();
  }
});
