/**
 * Accounting through the whole server: the prompt-cache simulation's split on every channel without cache
 * numbers (streamed and not, and through `/v1/chat/completions`), a Claude-format upstream's real numbers
 * passed through, Anthropic's breakpoint 400s before any upstream call, calibration from upstream counts,
 * costs, and the usage record of a success, a failure and a client disconnect.
 */
import assert from "node:assert/strict";
import { eventFrame, text as qText } from "../_helpers/amazonq_helpers.ts";
import { chunk as geminiChunk, sse as geminiSse } from "../_helpers/gemini_helpers.ts";
import { chunkedBody, claudeEvent, openAIChunk, openAIUsageChunk } from "../_helpers/fake_openai_upstream.ts";
import { adminSession } from "../_helpers/test_app.ts";
import {
  amazonQResponse,
  type ChannelName,
  DIALECTS,
  type Json,
  parseSse,
  withHarness,
} from "../_helpers/e2e_harness.ts";

const SYSTEM = "You are a careful assistant who reviews code changes line by line. ".repeat(120);
const EPHEMERAL = { type: "ephemeral" };

function sseBody(chunks: string[], delayMs = 0): Response {
  return new Response(chunkedBody(chunks, delayMs ? { delayMs } : {}), {
    headers: { "content-type": "text/event-stream" },
  });
}

/** An answer that reports no input count, in each upstream's format. */
function plainAnswer(channel: ChannelName): Response {
  switch (channel) {
    case "amazonq":
      return amazonQResponse([qText("ok"), eventFrame("metadataEvent", { tokenUsage: { outputTokens: 2 } })]);
    case "gemini":
      return sseBody([
        geminiSse(
          geminiChunk([{ text: "ok" }], { finishReason: "STOP", usageMetadata: { candidatesTokenCount: 2 } }),
        ),
      ]);
    case "openai":
      return sseBody([
        openAIChunk({ role: "assistant", content: "ok" }),
        openAIChunk({}, "stop"),
        "data: [DONE]\n\n",
      ]);
    case "claude":
      return DIALECTS.claude.text(["ok"]);
  }
}

/** Turn 1 and turn 2 of one conversation, breakpoints on the system prompt and the last message. */
function turn(n: 1 | 2, model: string, stream: boolean, ttl?: "1h"): Json {
  const marker = ttl ? { ...EPHEMERAL, ttl } : EPHEMERAL;
  const last = (text: string) => ({
    role: "user",
    content: [{ type: "text", text, cache_control: EPHEMERAL }],
  });
  const messages = n === 1 ? [last("Please review the first file.")] : [
    { role: "user", content: [{ type: "text", text: "Please review the first file." }] },
    { role: "assistant", content: "ok" },
    last("Now the second one."),
  ];
  return {
    model,
    max_tokens: 256,
    stream,
    system: [{ type: "text", text: SYSTEM, cache_control: marker }],
    messages,
  };
}

/** The input usage of a response: `message_start`'s and `message_delta`'s (streamed) or the message's. */
async function usageOf(response: Response, stream: boolean): Promise<{ start: Json; delta: Json | null }> {
  assert.equal(response.status, 200, await response.clone().text());
  if (!stream) return { start: (await response.json()).usage, delta: null };
  const events = parseSse(await response.text()).map((f) => f.data);
  return {
    start: events.find((e) => e.type === "message_start").message.usage,
    delta: events.find((e) => e.type === "message_delta").usage,
  };
}

function inputPart(u: Json) {
  return {
    input_tokens: u.input_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    cache_creation: u.cache_creation,
  };
}

for (const channel of ["amazonq", "gemini", "openai"] as ChannelName[]) {
  for (const stream of [true, false]) {
    Deno.test(`prompt cache / ${channel} (stream ${stream}): creation, then a read with the exact split`, async () => {
      await withHarness(channel, () => plainAnswer(channel), async (h) => {
        const model = h.dialect.model;
        const count = async (body: Json) => {
          const { stream: _s, ...rest } = body;
          const r = await h.post("/v1/messages/count_tokens", rest);
          return (await r.json()).input_tokens as number;
        };
        const t1 = await count(turn(1, model, stream));
        const t2 = await count(turn(2, model, stream));
        const first = await usageOf(await h.post("/v1/messages", turn(1, model, stream)), stream);
        // The whole prompt ends at the last breakpoint: all of it is written, nothing is plain input.
        assert.deepEqual(inputPart(first.start), {
          input_tokens: 0,
          cache_read_input_tokens: 0,
          cache_creation_input_tokens: t1,
          cache_creation: { ephemeral_5m_input_tokens: t1, ephemeral_1h_input_tokens: 0 },
        });
        if (first.delta) assert.deepEqual(inputPart(first.delta), inputPart(first.start));
        const second = await usageOf(await h.post("/v1/messages", turn(2, model, stream)), stream);
        // Turn 1's prompt is read back; what turn 2 added is written.
        assert.deepEqual(inputPart(second.start), {
          input_tokens: 0,
          cache_read_input_tokens: t1,
          cache_creation_input_tokens: t2 - t1,
          cache_creation: { ephemeral_5m_input_tokens: t2 - t1, ephemeral_1h_input_tokens: 0 },
        });
        if (second.delta) assert.deepEqual(inputPart(second.delta), inputPart(second.start));
        const records = await h.usage();
        assert.equal(records.length, 2);
        assert.deepEqual(
          records.map((
            r: Json,
          ) => [r.cache_read_input_tokens, r.cache_creation_input_tokens, r.input_tokens]),
          [[t1, t2 - t1, 0], [0, t1, 0]],
        );
        assert.deepEqual(records.map((r: Json) => [r.cache_source, r.input_source]), [
          ["simulated", "estimate"],
          ["simulated", "estimate"],
        ]);
        assert.equal(records[0].key_id, "env:0");
      });
    });
  }
}

Deno.test("prompt cache / openai chat completions: the second turn reports cached prompt tokens", async () => {
  await withHarness("openai", () => plainAnswer("openai"), async (h) => {
    const client = h.openai();
    const system = { role: "system" as const, content: SYSTEM };
    const first = await client.chat.completions.create({
      model: h.dialect.model,
      messages: [system, { role: "user", content: "Please review the first file." }],
    });
    assert.equal(first.usage?.prompt_tokens_details?.cached_tokens, 0);
    const second = await client.chat.completions.create({
      model: h.dialect.model,
      messages: [
        system,
        { role: "user", content: "Please review the first file." },
        { role: "assistant", content: "ok" },
        { role: "user", content: "Now the second one." },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: Json = null;
    for await (const chunk of second) if (chunk.usage) usage = chunk.usage;
    assert.equal(usage.prompt_tokens_details.cached_tokens, first.usage!.prompt_tokens);
    assert.ok(usage.prompt_tokens > first.usage!.prompt_tokens);
  });
});

Deno.test("prompt cache / claude-format upstream: its own cache numbers are passed through untouched", async () => {
  const start = claudeEvent({
    type: "message_start",
    message: {
      id: "msg_up",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-6",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 7,
        cache_read_input_tokens: 900,
        cache_creation_input_tokens: 120,
        output_tokens: 1,
      },
    },
  });
  const answer = () =>
    sseBody([
      start,
      claudeEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      claudeEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "ok" } }),
      claudeEvent({ type: "content_block_stop", index: 0 }),
      claudeEvent({
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: 3 },
      }),
      claudeEvent({ type: "message_stop" }),
    ]);
  await withHarness("claude", answer, async (h) => {
    for (const n of [1, 2] as const) {
      const { start: usage } = await usageOf(
        await h.post("/v1/messages", turn(n, h.dialect.model, true)),
        true,
      );
      assert.equal(usage.input_tokens, 7);
      assert.equal(usage.cache_read_input_tokens, 900);
      assert.equal(usage.cache_creation_input_tokens, 120);
    }
    const records = await h.usage();
    assert.deepEqual(records.map((r: Json) => [r.cache_read_input_tokens, r.cache_source, r.input_source]), [
      [900, "upstream", "upstream"],
      [900, "upstream", "upstream"],
    ]);
  });
});

Deno.test("prompt cache: 5 breakpoints and a 1h breakpoint after a 5m one are Anthropic's 400s, before any upstream call", async () => {
  await withHarness("amazonq", () => plainAnswer("amazonq"), async (h) => {
    const five = {
      model: h.dialect.model,
      max_tokens: 64,
      messages: [{
        role: "user",
        content: Array.from(
          { length: 5 },
          (_, i) => ({ type: "text", text: `part ${i}`, cache_control: EPHEMERAL }),
        ),
      }],
    };
    const r1 = await h.post("/v1/messages", five);
    assert.equal(r1.status, 400);
    const b1 = await r1.json();
    assert.equal(b1.type, "error");
    assert.equal(b1.error.type, "invalid_request_error");
    assert.match(b1.error.message, /cache_control/);
    const order = {
      model: h.dialect.model,
      max_tokens: 64,
      system: [{ type: "text", text: "a", cache_control: EPHEMERAL }],
      messages: [{
        role: "user",
        content: [{ type: "text", text: "b", cache_control: { ...EPHEMERAL, ttl: "1h" } }],
      }],
    };
    const r2 = await h.post("/v1/messages", order);
    assert.equal(r2.status, 400);
    assert.match((await r2.json()).error.message, /ttl/);
    assert.equal(h.upstream.calls.length, 0);
  });
});

Deno.test("prompt cache: a 1h breakpoint writes 1h tokens, priced at the 1h rate in the record", async () => {
  await withHarness("amazonq", () => plainAnswer("amazonq"), async (h) => {
    const { start } = await usageOf(await h.post("/v1/messages", turn(1, h.dialect.model, true, "1h")), true);
    assert.ok(start.cache_creation.ephemeral_1h_input_tokens > 1000);
    assert.equal(
      start.cache_creation.ephemeral_1h_input_tokens + start.cache_creation.ephemeral_5m_input_tokens,
      start.cache_creation_input_tokens,
    );
    const [record] = await h.usage();
    assert.equal(record.cache_creation_1h_tokens, start.cache_creation.ephemeral_1h_input_tokens);
  });
});

Deno.test("cost: a cache-heavy request's stored cost matches the hand calculation, later price edits do not rewrite it", async () => {
  await withHarness("amazonq", () => plainAnswer("amazonq"), async (h) => {
    const token = await adminSession(h.t);
    const prices = {
      models: {
        "claude-sonnet-4-6*": {
          input: 3,
          output: 15,
          cache_write_5m: 3.75,
          cache_write_1h: 6,
          cache_read: 0.3,
        },
      },
    };
    const bad = await h.t.request("/v2/pricing", {
      method: "PUT",
      headers: { "content-type": "application/json", "x-session-token": token },
      body: JSON.stringify({ models: { "claude-x": { input: -1 } } }),
    });
    assert.equal(bad.status, 400);
    const put = await h.t.request("/v2/pricing", {
      method: "PUT",
      headers: { "content-type": "application/json", "x-session-token": token },
      body: JSON.stringify(prices),
    });
    assert.equal(put.status, 200);
    const got = await (await h.t.request("/v2/pricing", { headers: { "x-session-token": token } })).json();
    assert.deepEqual(got.models, prices.models);
    await (await h.post("/v1/messages", turn(1, h.dialect.model, false))).body?.cancel();
    await (await h.post("/v1/messages", turn(2, h.dialect.model, false))).body?.cancel();
    const [second] = await h.usage();
    const hand = (second.input_tokens * 3 + second.output_tokens * 15 +
      second.cache_creation_input_tokens * 3.75 + second.cache_read_input_tokens * 0.3) / 1e6;
    assert.ok(second.cache_read_input_tokens > 1000);
    assert.equal(second.cost_status, "priced");
    assert.ok(Math.abs(second.cost_usd - hand) < 1e-9, `${second.cost_usd} vs ${hand}`);
    // A later edit changes new records only.
    await h.t.request("/v2/pricing", {
      method: "PUT",
      headers: { "content-type": "application/json", "x-session-token": token },
      body: JSON.stringify({ models: {} }),
    });
    const [again] = await h.usage();
    assert.equal(again.cost_usd, second.cost_usd);
    await (await h.post("/v1/messages", turn(1, h.dialect.model, false))).body?.cancel();
    const [unpriced] = await h.usage();
    assert.equal(unpriced.cost_usd, null);
    assert.equal(unpriced.cost_status, "unpriced");
    const summary = await (await fetch(`${h.url}/v1/usage?period=all`, {
      headers: { "x-api-key": "sk-e2e-client-key-0123456789" },
    })).json();
    assert.equal(summary.unpriced_requests, 1);
    const priced = (await h.usage()).reduce((n: number, r: Json) => n + (r.cost_usd ?? 0), 0);
    assert.ok(Math.abs(summary.cost_usd - priced) < 1e-9);
  });
});

Deno.test("calibration: upstream input counts teach the estimator; count_tokens and message_start agree and follow", async () => {
  let reported = 0;
  const answer = () =>
    sseBody([
      openAIChunk({ role: "assistant", content: "ok" }),
      openAIChunk({}, "stop"),
      openAIUsageChunk(reported, 2),
      "data: [DONE]\n\n",
    ]);
  await withHarness("openai", answer, async (h) => {
    const body = { model: h.dialect.model, max_tokens: 64, messages: [{ role: "user", content: SYSTEM }] };
    const count = async () => (await (await h.post("/v1/messages/count_tokens", body)).json()).input_tokens;
    const before = await count();
    reported = Math.round(before * 1.5);
    for (let i = 0; i < 4; i++) {
      const { start, delta } = await usageOf(await h.post("/v1/messages", { ...body, stream: true }), true);
      // The delta carries the upstream's own figure.
      assert.equal(delta.input_tokens, reported);
      if (i === 0) assert.equal(start.input_tokens, before);
    }
    const after = await count();
    assert.ok(Math.abs(after - reported) / reported < 0.02, `${after} vs ${reported}`);
    const { start } = await usageOf(await h.post("/v1/messages", { ...body, stream: true }), true);
    assert.equal(start.input_tokens, after);
    const records = await h.usage();
    assert.ok(records.every((r: Json) => r.input_tokens === reported));
    // While the estimate differed from the upstream's count, the record says whose figure it carries.
    assert.deepEqual(records.slice(-3).map((r: Json) => r.input_source), [
      "upstream",
      "upstream",
      "upstream",
    ]);
  });
});

Deno.test("usage record: a success, an upstream failure and a pool failure carry their fields", async () => {
  await withHarness(
    "amazonq",
    (_c, index) =>
      index === 1
        ? new Response(JSON.stringify({ message: "slow down" }), {
          status: 429,
          headers: { "x-amzn-errortype": "ThrottlingException" },
        })
        : plainAnswer("amazonq"),
    async (h) => {
      const ok = await h.post("/v1/messages", { ...turn(1, h.dialect.model, true) });
      await ok.text();
      const failed = await h.post("/v1/messages", { ...turn(1, h.dialect.model, false) });
      assert.ok(failed.status >= 400);
      await failed.body?.cancel();
      const none = await h.post("/v1/messages", { ...turn(1, "no-such-model-xyz", false) });
      await none.body?.cancel();
      const records = await h.usage();
      const [pool, failure, success] = records;
      assert.equal(success.outcome, "success");
      assert.equal(success.stop_reason, "end_turn");
      assert.equal(success.streamed, true);
      assert.equal(success.account_id, h.accounts[0]!.id);
      assert.equal(success.channel, "amazonq");
      assert.equal(success.model, h.dialect.model);
      assert.equal(typeof success.upstream_model, "string");
      assert.equal(typeof success.ttfb_ms, "number");
      assert.ok(success.duration_ms >= success.ttfb_ms);
      assert.equal(success.cost_status, "priced");
      assert.ok(success.cost_usd > 0);
      assert.equal(success.key_id, "env:0");
      assert.equal(success.error_message, null);
      assert.equal(failure.outcome, "throttled");
      assert.match(failure.error_message, /\S/, "a failed request says what went wrong");
      assert.equal(failure.streamed, false);
      assert.equal(failure.account_id, h.accounts[0]!.id);
      assert.equal(failure.ttfb_ms, null);
      assert.equal(failure.output_tokens, 0);
      assert.notEqual(pool.outcome, "success");
      assert.equal(typeof pool.outcome, "string");
      assert.equal(pool.key_id, "env:0");
      assert.match(pool.error_message, /no-such-model-xyz/);
    },
  );
});

Deno.test("usage record: a client that goes away mid-stream is recorded as client_closed", async () => {
  const slow = () =>
    amazonQResponse(
      [
        qText("a"),
        qText("b"),
        qText("c"),
        qText("d"),
        eventFrame("metadataEvent", { tokenUsage: { outputTokens: 4 } }),
      ],
      { delayMs: 300 },
    );
  await withHarness("amazonq", slow, async (h) => {
    const controller = new AbortController();
    const response = await fetch(h.url + "/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "sk-e2e-client-key-0123456789" },
      body: JSON.stringify({ ...turn(1, h.dialect.model, true) }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    let records: Json[] = [];
    for (let i = 0; i < 50 && records.length === 0; i++) records = await h.usage();
    assert.equal(records.length, 1);
    assert.equal(records[0].outcome, "client_closed");
    assert.equal(records[0].error_message, "the client closed the request");
    assert.equal(records[0].stop_reason, null);
    assert.equal(records[0].streamed, true);
  });
});
