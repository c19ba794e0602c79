/**
 * Upstream faults through the whole request path (issue: upstream time limits, early cuts): a fake Amazon Q
 * that withholds its headers, stalls mid-stream or closes the connection before the first frame, served
 * by the real backends with short injected time limits. Before the first byte to the client such a fault
 * fails over to the next account and is recorded against the one that failed; after it the stream ends
 * with one error event naming the cause; when no account is left the client gets 502 `api_error`.
 */
import assert from "node:assert/strict";
import { createBackends } from "../../../lib/backends.ts";
import { parseConfig } from "../../../lib/config.ts";
import { estimator, makeTestApp, STATIC_DIR, TEST_SIGNER, type TestApp } from "../../_helpers/test_app.ts";
import { eventFrame } from "../../_helpers/amazonq_helpers.ts";
import { collectGarbage } from "../../_helpers/collect_garbage.ts";
import {
  addAmazonQ,
  addCustom,
  amazonQEnv,
  answerText,
  ask,
  type Fake,
  fakeAmazonQ,
  fakeOpenAI,
  settle,
} from "../../_helpers/pool_helpers.ts";

/**
 * A test app on the real backends with time limits short enough for a test. Tests of other faults give the
 * headers a generous limit: on a busy machine even a healthy fake can take longer than 300 ms to answer.
 */
function appWithLimits(fake: Fake, { headersMs = 300, idleMs = 300 } = {}): TestApp {
  const env = { DATABASE_URL: "sqlite::memory:", ...amazonQEnv(fake) };
  const config = {
    ...parseConfig((name) => (env as Record<string, string>)[name]),
    upstreamTimeoutMs: headersMs,
    upstreamIdleTimeoutMs: idleMs,
    upstreamTotalTimeoutMs: 10_000,
  };
  return makeTestApp({
    env,
    backends: createBackends({
      config,
      signer: TEST_SIGNER,
      estimator: estimator(),
      staticDir: STATIC_DIR,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
    }),
  });
}

/** Holds the response until the client gives up, as an upstream that never sends its headers. */
async function withhold(request: Request): Promise<Response> {
  // Bounded: the server does not always see an aborted fetch leave, and the test must be able to stop it.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await new Promise((resolve) => {
    timer = setTimeout(resolve, 2_000);
    request.signal.addEventListener("abort", resolve, { once: true });
  });
  clearTimeout(timer);
  return new Response(null, { status: 204 });
}

/** A 200 event stream whose connection breaks before the first frame. */
function cutBeforeFirstFrame(): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.error(new Error("connection reset by the fake"));
      },
    }),
    { headers: { "content-type": "application/vnd.amazon.eventstream" } },
  );
}

/** Streams one text frame, then sends nothing more until the client goes away. */
function stallAfterFirstFrame(): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(eventFrame("assistantResponseEvent", { content: "partial" }));
      },
    }),
    { headers: { "content-type": "application/vnd.amazon.eventstream" } },
  );
}

async function lastError(t: TestApp, label: string): Promise<string | null> {
  const account = (await t.store.accounts.list()).find((a) => a.label === label);
  return (account as unknown as { last_error?: string | null })?.last_error ?? null;
}

Deno.test("an Amazon Q account that withholds its headers fails over to the next account", async () => {
  const fake = fakeAmazonQ({
    script: (seen, request) => seen.key === "at-slow" ? withhold(request) : undefined,
  });
  // The good account must answer within the limit too: a second, not 300 ms, on a busy machine.
  const t = appWithLimits(fake, { headersMs: 1_000, idleMs: 5_000 });
  try {
    await addAmazonQ(t, "slow");
    await addAmazonQ(t, "good");
    // Ask until the pool has picked the slow account at least once (bounded); every answer comes from good.
    for (let i = 0; i < 20 && fake.count("at-slow") === 0; i++) {
      assert.equal(await answerText(await ask(t, `q${i}`, { model: "claude-sonnet-4-5" })), "ok:at-good");
    }
    assert.ok(fake.count("at-slow") > 0, "the slow account was tried");
    assert.match((await lastError(t, "slow")) ?? "", /no response headers within 1 s/);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("an Amazon Q connection reset before the first frame fails over, and is recorded", async () => {
  const fake = fakeAmazonQ({ script: (seen) => seen.key === "at-cut" ? cutBeforeFirstFrame() : undefined });
  const t = appWithLimits(fake, { headersMs: 5_000, idleMs: 5_000 });
  try {
    await addAmazonQ(t, "cut");
    await addAmazonQ(t, "good");
    // The pool picks at random by weight: ask until the cutting account has been tried (each ask has an even
    // chance; 30 misses in a row would be a one-in-a-billion run). Every answer comes from the good account.
    for (let i = 0; i < 30 && fake.count("at-cut") === 0; i++) {
      assert.equal(await answerText(await ask(t, `q${i}`, { model: "claude-sonnet-4-5" })), "ok:at-good");
    }
    assert.ok(fake.count("at-cut") > 0, "the cutting account was tried");
    assert.match((await lastError(t, "cut")) ?? "", /^upstream broke off/);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("an Amazon Q account alone that withholds its headers gives 502 api_error naming the limit", async () => {
  const fake = fakeAmazonQ({ script: (_seen, request) => withhold(request) });
  const t = appWithLimits(fake);
  try {
    await addAmazonQ(t, "slow");
    const response = await ask(t, "hello", { model: "claude-sonnet-4-5" });
    assert.equal(response.status, 502);
    const body = await response.json();
    assert.equal(body.error.type, "api_error");
    assert.match(body.error.message, /upstream sent no response headers within 0\.3 s/);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("when every account breaks off before the first frame the client gets 502 api_error", async () => {
  const fake = fakeAmazonQ({ script: () => cutBeforeFirstFrame() });
  const t = appWithLimits(fake, { headersMs: 5_000, idleMs: 5_000 });
  try {
    await addAmazonQ(t, "a");
    await addAmazonQ(t, "b");
    const response = await ask(t, "hello", { model: "claude-sonnet-4-5" });
    assert.equal(response.status, 502);
    const body = await response.json();
    assert.equal(body.type, "error");
    assert.equal(body.error.type, "api_error");
    assert.match(body.error.message, /^upstream broke off/);
    assert.match((await lastError(t, "a")) ?? "", /^upstream broke off/);
    assert.match((await lastError(t, "b")) ?? "", /^upstream broke off/);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("an Amazon Q stream that stalls after the first byte ends with one error event naming the stall", async () => {
  const fake = fakeAmazonQ({ script: () => stallAfterFirstFrame() });
  const t = appWithLimits(fake, { headersMs: 5_000 });
  try {
    await addAmazonQ(t, "a");
    const response = await ask(t, "hello", { model: "claude-sonnet-4-5", stream: true });
    assert.equal(response.status, 200);
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    assert.ok(events.includes("content_block_delta"), text);
    assert.equal(events.filter((e) => e === "error").length, 1, text);
    assert.ok(!events.includes("message_stop"), "a stalled stream never looks complete");
    assert.match(text, /upstream stalled: no data for 0\.3 s/);
    await settle();
    assert.match((await lastError(t, "a")) ?? "", /upstream stalled/);
  } finally {
    await t.close();
    await fake.close();
  }
});

Deno.test("a stream that stalls ends with one error event even when a garbage collection ran meanwhile", async () => {
  // Under load a collection ran while streams were stalled, and the idle limit then no longer reached the
  // upstream body: those clients waited until the upstream hung up.
  const fake = fakeAmazonQ({ script: () => stallAfterFirstFrame() });
  const t = appWithLimits(fake, { headersMs: 5_000, idleMs: 1_000 });
  let reader: ReadableStreamDefaultReader<string> | undefined;
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    await addAmazonQ(t, "a");
    const response = await ask(t, "hello", { model: "claude-sonnet-4-5", stream: true });
    assert.equal(response.status, 200);
    reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (let i = 0; i < 100 && !text.includes("event: content_block_delta"); i++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /event: content_block_delta/);
    await collectGarbage();
    const rest = (async () => {
      for (let i = 0; i < 1_000; i++) {
        const { done, value } = await reader!.read();
        if (done) return "ended";
        text += value;
      }
      return "too many chunks";
    })();
    const outcome = await Promise.race([
      rest,
      new Promise((resolve) => guard = setTimeout(() => resolve("still open after 10 s"), 10_000)),
    ]);
    assert.equal(outcome, "ended", text);
    const events = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    assert.equal(events.filter((e) => e === "error").length, 1, text);
    assert.ok(!events.includes("message_stop"), "a stalled stream never looks complete");
    assert.match(text, /upstream stalled: no data for 1 s/);
  } finally {
    clearTimeout(guard);
    await reader?.cancel().catch(() => {});
    await t.close();
    await fake.close();
  }
});

Deno.test("an SSE line over the parser's limit is the account's failure: the next account serves", async () => {
  const fake = fakeOpenAI((seen) =>
    seen.key === "k-huge"
      ? new Response("data: " + "x".repeat(9 * 1024 * 1024), {
        headers: { "content-type": "text/event-stream" },
      })
      : undefined
  );
  const t = makeTestApp();
  try {
    await addCustom(t, fake, "k-huge");
    await addCustom(t, fake, "k-good");
    for (let i = 0; i < 20 && fake.count("k-huge") === 0; i++) {
      assert.equal(await answerText(await ask(t, `q${i}`)), "ok:k-good");
    }
    assert.ok(fake.count("k-huge") > 0, "the account with the huge line was tried");
    assert.match((await lastError(t, "k-huge")) ?? "", /^malformed upstream data/);
  } finally {
    await t.close();
    await fake.close();
  }
});
