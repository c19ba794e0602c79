/**
 * The error class a client gets when the pool cannot serve a request (issue 9, point 9): a model nothing can
 * serve is a 404 `not_found_error` SDKs do not retry, with the name cut short; accounts that are cooling
 * down, parked or at their hourly limit give a 429 whose `retry-after` is the soonest recovery on the
 * injected clock; names that are members of `Object.prototype` are ordinary unknown models. The same
 * statuses hold on `/v1/chat/completions` in OpenAI's error shape.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { json, makeTestApp, type TestApp } from "../../_helpers/test_app.ts";
import {
  addAccount,
  addAmazonQ,
  addCustom,
  amazonQEnv,
  ask,
  fakeAmazonQ,
  fakeOpenAI,
  openAIOk,
} from "../../_helpers/pool_helpers.ts";

async function claudeError(response: Response, status: number, type: string) {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.type, "error");
  assert.equal(body.error.type, type);
  return body.error.message as string;
}

function chat(t: TestApp, model: string): Promise<Response> {
  return t.request("/v1/chat/completions", json({ model, messages: [{ role: "user", content: "hi" }] }));
}

Deno.test("a model no channel serves is a 404 not_found_error naming what is missing, name cut short", async () => {
  const fake = fakeAmazonQ();
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    // With no account at all.
    let message = await claudeError(await ask(t, "hi", { model: "gpt-4o" }), 404, "not_found_error");
    assert.match(message, /^model "gpt-4o": no channel serves it/);

    // Only an Amazon Q account, which cannot serve a non-Claude name; the 200-character name is cut to 64.
    await addAmazonQ(t, "q");
    const long = "gpt-" + "x".repeat(196);
    const response = await ask(t, "hi", { model: long });
    assert.equal(response.headers.get("retry-after"), null);
    message = await claudeError(response, 404, "not_found_error");
    assert.ok(message.includes(`"${long.slice(0, 64)}…"`), message);
    assert.ok(!message.includes(long.slice(0, 65)), message);
    assert.ok(message.length < 200, message);
    assert.equal(fake.seen.length, 0);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a model whose only account is disabled is a 404 that says so", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp();
  try {
    await addCustom(t, fake, "off", { enabled: false });
    const message = await claudeError(await ask(t, "hi"), 404, "not_found_error");
    assert.equal(message, 'model "gpt-x": every account that could serve it is disabled');
    assert.equal(fake.seen.length, 0);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a model name over 256 characters is a 400 that does not echo it", async () => {
  const t = makeTestApp();
  try {
    const huge = "m".repeat(100_000);
    const response = await ask(t, "hi", { model: huge });
    const text = await response.text();
    assert.equal(response.status, 400);
    assert.equal(JSON.parse(text).error.type, "invalid_request_error");
    assert.match(JSON.parse(text).error.message, /^model: /);
    assert.ok(text.length < 1000, `error body of ${text.length} bytes`);
    const openai = await chat(t, huge);
    const openaiText = await openai.text();
    assert.equal(openai.status, 400);
    assert.ok(openaiText.length < 1000, `error body of ${openaiText.length} bytes`);
  } finally {
    await t.close();
  }
});

Deno.test("model names that are Object.prototype members are unknown models, never a 500", async () => {
  const fake = fakeAmazonQ();
  const t = makeTestApp({ env: amazonQEnv(fake) });
  try {
    for (const model of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
      const message = await claudeError(await ask(t, "hi", { model }), 404, "not_found_error");
      assert.match(message, /no channel serves it/);
    }
    await addAmazonQ(t, "q");
    for (const model of ["toString", "constructor", "__proto__"]) {
      await claudeError(await ask(t, "hi", { model }), 404, "not_found_error");
      const openai = await chat(t, model);
      assert.equal(openai.status, 404);
      assert.equal((await openai.json()).error.code, "not_found");
    }
    assert.equal(fake.seen.length, 0);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("global and Gemini mapping tables ignore inherited names", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp();
  try {
    await addCustom(t, fake, "k", { other: { api_base: `${fake.url}/v1`, format: "openai" } });
    const response = await ask(t, "hi", { model: "constructor" });
    assert.equal(response.status, 200, await response.clone().text());
    await response.body?.cancel();
    // The custom account was asked for the name the client sent, not for a function's source text.
    assert.equal(fake.seen[0]!.body.model, "constructor");
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("all accounts cooling down or parked: 429 rate_limit_error, retry-after = soonest recovery", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp();
  try {
    const now = t.clock.now();
    const a = await addCustom(t, fake, "a");
    const b = await addCustom(t, fake, "b");
    await addCustom(t, fake, "off", { enabled: false });
    await t.store.accounts.update(a.id, { cooldown_until: now + 90_000 });
    await t.store.accounts.update(b.id, { parked_until: now + 40_500 });

    let response = await ask(t, "hi");
    assert.equal(response.headers.get("retry-after"), "41");
    let message = await claudeError(response, 429, "rate_limit_error");
    assert.match(message, /cooling down, parked or at its hourly limit/);

    // Later on the injected clock only the cooldown is left.
    t.clock.advance(45_000);
    await t.store.accounts.update(b.id, { parked_until: now + 3_600_000 });
    response = await ask(t, "hi");
    assert.equal(response.headers.get("retry-after"), "45");
    message = await claudeError(response, 429, "rate_limit_error");

    // OpenAI route: the same status and header in OpenAI's shape.
    const openai = await chat(t, "gpt-x");
    assert.equal(openai.status, 429);
    assert.equal(openai.headers.get("retry-after"), "45");
    assert.equal((await openai.json()).error.type, "rate_limit_error");
    assert.equal(fake.seen.length, 0);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a model whose quota is parked on every account: 429 until the quota resets", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp();
  try {
    const now = t.clock.now();
    await addCustom(t, fake, "a", {
      other: { api_base: `${fake.url}/v1`, format: "openai", quota_parked: { "gpt-x": now + 600_000 } },
    });
    const response = await ask(t, "hi");
    assert.equal(response.headers.get("retry-after"), "600");
    await claudeError(response, 429, "rate_limit_error");
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("hourly limit reached on every account: 429 with retry-after when the window frees", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp();
  try {
    await addCustom(t, fake, "a", { rate_limit_per_hour: 1 });
    const first = await ask(t, "one");
    assert.equal(first.status, 200);
    await first.body?.cancel();
    t.clock.advance(600_000);
    const response = await ask(t, "two");
    // The first call leaves the window 50 minutes from now.
    assert.equal(response.headers.get("retry-after"), "3001");
    const message = await claudeError(response, 429, "rate_limit_error");
    assert.match(message, /hourly limit/);
    assert.equal(fake.seen.length, 1);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("every account at its in-flight cap: 529 overloaded_error on both APIs", async () => {
  let release!: () => void;
  const hold = new Promise<void>((r) => release = r);
  const fake = fakeOpenAI(async (seen) => {
    await hold;
    return openAIOk(seen.key);
  });
  const t = makeTestApp({ poolWaitMs: 30 });
  try {
    await addCustom(t, fake, "a", { max_inflight: 1 });
    const first = ask(t, "held");
    for (let i = 0; i < 100 && fake.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const response = await ask(t, "two");
    assert.ok(Number(response.headers.get("retry-after")) > 0);
    const message = await claudeError(response, 529, "overloaded_error");
    assert.match(message, /busy/);
    const openai = await chat(t, "gpt-x");
    assert.equal(openai.status, 529);
    assert.equal((await openai.json()).error.code, "overloaded");
    release();
    await (await first).body?.cancel();
  } finally {
    release();
    await t.close();
    await fake.close();
  }
});

Deno.test("the Anthropic SDK gives up at once on the 404 and retries the 429", async () => {
  const fake = fakeOpenAI();
  const t = makeTestApp({ realClock: true });
  let messages = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request, info) => {
    if (new URL(request.url).pathname === "/v1/messages") messages++;
    return t.app.fetch(request, { remoteAddr: info.remoteAddr });
  });
  try {
    const client = new Anthropic({
      baseURL: `http://127.0.0.1:${server.addr.port}`,
      apiKey: "k",
      maxRetries: 2,
    });
    const call = () =>
      client.messages.create({ model: "gpt-x", max_tokens: 16, messages: [{ role: "user", content: "hi" }] });
    await assert.rejects(call(), (error) => error instanceof Anthropic.NotFoundError);
    assert.equal(messages, 1, "a 404 is not retried");

    // Cross-check that the counter sees retries: a 429 is retried up to `maxRetries` times.
    const account = await addCustom(t, fake, "a");
    await t.store.accounts.update(account.id, { cooldown_until: Date.now() + 60_000 });
    messages = 0;
    const sdk = new Anthropic({
      baseURL: `http://127.0.0.1:${server.addr.port}`,
      apiKey: "k",
      maxRetries: 2,
      // Keep the test fast: the SDK waits at most 60 s on retry-after; a custom fetch drops the header.
      fetch: async (url, init) => {
        const response = await fetch(url, init);
        const headers = new Headers(response.headers);
        headers.set("retry-after-ms", "1");
        headers.delete("retry-after");
        return new Response(response.body, { status: response.status, headers });
      },
    });
    await assert.rejects(
      sdk.messages.create({ model: "gpt-x", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
      (error) => error instanceof Anthropic.RateLimitError,
    );
    assert.equal(messages, 3, "a 429 is retried");
  } finally {
    await server.shutdown();
    await t.close();
    await fake.close();
  }
});

Deno.test("an account tried and failed is not reported as a model nothing serves", async () => {
  const fake = fakeOpenAI(() => new Response("bad gateway", { status: 502 }));
  const t = makeTestApp();
  try {
    await addAccount(t, {
      type: "custom_api",
      clientSecret: "k",
      other: { api_base: `${fake.url}/v1`, format: "openai", model: "gpt-x" },
    });
    const response = await ask(t, "hi");
    assert.equal(response.status, 502);
    await response.body?.cancel();
  } finally {
    await t.close();
    await fake.close();
  }
});
